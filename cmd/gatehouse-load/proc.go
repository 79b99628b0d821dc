package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture's ABI).
const userHZ = 100

// procUsage is what /proc says about a process at one moment.
type procUsage struct {
	cpu     time.Duration // user + system CPU time so far
	rss     int64         // resident set, bytes (VmRSS)
	peakRSS int64         // high-water mark, bytes (VmHWM)
}

// readProc reads /proc/PID ("self" for this process). It works on Linux
// only.
func readProc(pid string) (procUsage, error) {
	var u procUsage
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return u, err
	}
	// The command name (field 2) may hold spaces; fields after it are
	// fixed. utime and stime are fields 14 and 15.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return u, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return u, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	u.cpu = time.Duration(utime+stime) * time.Second / userHZ
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return u, fmt.Errorf("/proc/%s/status %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			u.rss = kb << 10
		} else {
			u.peakRSS = kb << 10
		}
	}
	return u, nil
}

// procWatch follows a process over the measured phase: its CPU time and
// its resident memory, sampled every 100 ms.
type procWatch struct {
	pid   string
	start procUsage
	stop  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	maxRSS  int64
	samples int
}

// watch starts following pid ("self" for the load tool).
func watch(pid string) (*procWatch, error) {
	u, err := readProc(pid)
	if err != nil {
		return nil, fmt.Errorf("watch process %s: %w", pid, err)
	}
	w := &procWatch{pid: pid, start: u, stop: make(chan struct{}), maxRSS: u.rss}
	w.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			if u, err := readProc(pid); err == nil {
				w.mu.Lock()
				w.maxRSS = max(w.maxRSS, u.rss)
				w.samples++
				w.mu.Unlock()
			}
		}
	})
	return w, nil
}

// procReport is what a watched process did over the measured phase.
type procReport struct {
	PID        string
	CPU        time.Duration // CPU time used during the phase
	RSSStart   int64
	RSSMax     int64 // highest sampled VmRSS
	RSSEnd     int64
	PeakRSS    int64 // VmHWM at the end (the kernel's high-water mark, whole life)
	Cores      float64
	SampleRuns int
}

// finish stops sampling and returns the figures over elapsed.
func (w *procWatch) finish(elapsed time.Duration) (*procReport, error) {
	close(w.stop)
	w.wg.Wait()
	end, err := readProc(w.pid)
	if err != nil {
		return nil, fmt.Errorf("watch process %s: %w", w.pid, err)
	}
	r := &procReport{PID: w.pid, CPU: end.cpu - w.start.cpu, RSSStart: w.start.rss, RSSEnd: end.rss,
		RSSMax: max(w.maxRSS, end.rss), PeakRSS: end.peakRSS, SampleRuns: w.samples}
	if elapsed > 0 {
		r.Cores = r.CPU.Seconds() / elapsed.Seconds()
	}
	return r, nil
}
