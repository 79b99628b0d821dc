package gormstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"gorm.io/gorm"
)

// benchEvents is how many events BenchmarkListEvents seeds: GET
// /admin/events must stay fast at this size.
const (
	benchEvents = 1_000_000
	benchUsers  = 10_000
	benchPage   = 50
)

// benchEventID is the n-th seeded id: UUIDv7-shaped, in n order.
func benchEventID(n int) string { return fmt.Sprintf("01900000-0000-7000-8000-%012d", n) }

// BenchmarkListEvents measures ListEvents pages on SQLite over a million
// events, as GET /admin/events and GET /me/events read them. The seeding
// runs only when the benchmark does (go test -bench ListEvents).
func BenchmarkListEvents(b *testing.B) {
	db := dbtest.Migrated(b, dbtest.SQLite(b))
	start := time.Now()
	seedEvents(b, db)
	b.Logf("seeded %d events in %v", benchEvents, time.Since(start).Round(time.Millisecond))
	s := gormstore.New(db)
	cases := []struct {
		name string
		q    domain.EventQuery
	}{
		{"newest", domain.EventQuery{Limit: benchPage}},
		{"user", domain.EventQuery{UserID: "u004242", Limit: benchPage}},
		{"type", domain.EventQuery{Types: []domain.EventType{domain.EventPasswordChanged}, Limit: benchPage}},
		{"types", domain.EventQuery{Types: []domain.EventType{domain.EventLoginFailed, domain.EventMFAFailed}, Limit: benchPage}},
		{"deep cursor", domain.EventQuery{Before: benchEventID(100_000), Limit: benchPage}},
		{"user deep cursor", domain.EventQuery{UserID: "u004242", Before: benchEventID(100_000), Limit: benchPage}},
		{"since", domain.EventQuery{Since: benchTime(benchEvents - 10_000), Limit: benchPage}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var got []domain.Event
			for b.Loop() {
				var err error
				if got, err = s.ListEvents(context.Background(), c.q); err != nil {
					b.Fatal(err)
				}
			}
			if len(got) == 0 {
				b.Fatalf("ListEvents(%+v) found nothing", c.q)
			}
			b.ReportMetric(float64(len(got)), "events/op")
		})
	}
}

// benchTime is the time of the n-th seeded event: one every 100 ms.
func benchTime(n int) time.Time {
	return time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * 100 * time.Millisecond)
}

// seedEvents inserts benchEvents events in one transaction, 1000 rows per
// INSERT: types cycle through the catalogue, users through benchUsers.
func seedEvents(b *testing.B, db *gorm.DB) {
	b.Helper()
	const rows = 1000
	sqlDB, err := db.DB()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, 'user', ?, '192.0.2.1', 'bench', '', '', '{}'),", rows), ",")
	insert, err := tx.PrepareContext(ctx, "INSERT INTO events (id, time, type, user_id, actor_type, actor_id, ip, user_agent, request_id, session_id, details) VALUES "+values)
	if err != nil {
		b.Fatal(err)
	}
	args := make([]any, 0, 5*rows)
	for first := 0; first < benchEvents; first += rows {
		args = args[:0]
		for n := first; n < first+rows; n++ {
			user := fmt.Sprintf("u%06d", n%benchUsers)
			args = append(args, benchEventID(n), benchTime(n), string(domain.EventTypes[n%len(domain.EventTypes)]), user, user)
		}
		if _, err := insert.ExecContext(ctx, args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := db.Exec("ANALYZE").Error; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEventBytes measures the disk an auth event takes, indexes
// included, for docs/events.md's sizing: typical login.succeeded events
// (a 100-byte User-Agent, request and session ids) written through
// AppendEvents in batches, as the event log writes them.
func BenchmarkEventBytes(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *gorm.DB
			size := "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
			if dialect == "sqlite" {
				db = dbtest.Migrated(b, dbtest.SQLite(b))
			} else {
				db = dbtest.Migrated(b, dbtest.Postgres(b))
				size = "SELECT pg_total_relation_size('events')"
			}
			s := gormstore.New(db)
			measure := func() float64 {
				var n int64
				if err := db.Raw(size).Scan(&n).Error; err != nil {
					b.Fatal(err)
				}
				return float64(n)
			}
			const events, batch = 20_000, 200
			ua := strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 3) + "Firefox/140.0"
			for b.Loop() {
				before := measure()
				at := time.Now()
				for first := 0; first < events; first += batch {
					evs := make([]domain.Event, batch)
					for i := range evs {
						n := first + i
						evs[i] = domain.Event{
							ID: fmt.Sprintf("%08x-0000-7000-8000-%012d", at.UnixMilli(), n), Time: at.Add(time.Duration(n) * time.Millisecond),
							Type: domain.EventLoginSucceeded, UserID: fmt.Sprintf("0190aaaa-bbbb-7ccc-8ddd-%012d", n%1000),
							Actor: domain.Actor{Type: domain.ActorUser, ID: fmt.Sprintf("0190aaaa-bbbb-7ccc-8ddd-%012d", n%1000)},
							IP:    "203.0.113.7", UserAgent: ua[:100], RequestID: fmt.Sprintf("9f86d081884c7d65-%016x", n),
							SessionID: fmt.Sprintf("0190eeee-ffff-7000-8000-%012d", n), Details: domain.EventDetails{Grant: "password"},
						}
					}
					if err := s.AppendEvents(context.Background(), evs); err != nil {
						b.Fatal(err)
					}
				}
				if dialect == "postgres" {
					db.Exec("VACUUM events")
				}
				b.ReportMetric((measure()-before)/events, "bytes/event")
				if _, err := s.PruneEvents(context.Background(), at.Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
