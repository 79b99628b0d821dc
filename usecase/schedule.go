package usecase

import (
	"context"
	"sync"
	"time"
)

// Job is one periodic piece of background work: syncing the revoked set,
// pruning what the store no longer needs, reloading signing keys. Run
// reports its own failures (each job knows how loudly) and must return
// soon after ctx ends.
type Job struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context)
}

// Scheduler is the one loop behind a server's periodic jobs: it runs each
// job once at start and then every job.Every, never two runs of one job at
// once, until its context ends; Run returns only when every job has
// returned, so a graceful shutdown waits for them.
type Scheduler struct {
	jobs []Job
}

// NewScheduler returns a Scheduler of jobs. A job with no interval (Every
// zero or less) never runs.
func NewScheduler(jobs ...Job) *Scheduler {
	return &Scheduler{jobs: jobs}
}

// Run runs the jobs until ctx ends, then waits for the runs in progress.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, j := range s.jobs {
		if j.Every <= 0 {
			continue
		}
		wg.Go(func() { j.loop(ctx) })
	}
	wg.Wait()
}

// loop runs j now and then at every tick until ctx ends.
func (j Job) loop(ctx context.Context) {
	t := time.NewTicker(j.Every)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		j.Run(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
