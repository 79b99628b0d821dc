package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// flakyProxy forwards TCP to a database and can drop every connection and
// refuse new ones, like a database restart, without touching the server
// that other tests share.
type flakyProxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	p := &flakyProxy{t: t, target: target}
	p.up()
	t.Cleanup(p.down)
	return p
}

// up starts accepting on the proxy's address (the same one each time).
func (p *flakyProxy) up() {
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// down closes the listener and every proxied connection.
func (p *flakyProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestDatabaseOutage takes the database away from a running replica for a
// few seconds: writes answer 503 with a clear error (never hang or crash),
// readiness reports it, verification keeps working from memory, and the
// service recovers by itself.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFlakyProxy(t, u.Host)
	u.Host = proxy.addr
	c := &cluster{t: t, bin: binary(t), dsn: u.String()}
	base := c.start()

	c.signUp(base, "alice", "correct horse battery")
	tok := c.login(base, "alice", "correct horse battery")["access_token"]

	proxy.down()
	status, body := c.call(base, "POST", "/users", "application/json", `{"username":"bob","password":"correct horse battery"}`, nil)
	if status != 503 || body["error"] != "unavailable" {
		t.Errorf("signup during outage = %d %v; want 503 unavailable", status, body)
	}
	status, _ = c.call(base, "POST", "/get_token", "application/json", `{"username":"alice","password":"correct horse battery"}`, nil)
	if status != 503 {
		t.Errorf("login during outage = %d; want 503", status)
	}
	if s, _ := c.call(base, "GET", "/readyz", "", "", nil); s != 503 {
		t.Errorf("readyz during outage = %d; want 503", s)
	}
	if s, _ := c.call(base, "GET", "/healthz", "", "", nil); s != 200 {
		t.Errorf("healthz during outage = %d; want 200 (the process is alive)", s)
	}
	if s := c.protected(base, tok); s != 200 {
		t.Errorf("verification during outage = %d; want 200 (no database read per request)", s)
	}

	proxy.up()
	testkit.Eventually(t, "readyz recovers", 15*time.Second, func() bool {
		s, _ := c.call(base, "GET", "/readyz", "", "", nil)
		return s == 200
	})
	c.signUp(base, "bob", "correct horse battery")
}

// TestSIGKILLLosesNothingAcknowledged kills a replica with SIGKILL under
// write load and checks, after a restart, that every acknowledged user is
// there — on SQLite always, and on Postgres when it is configured.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	dbs := map[string]func(*testing.T) string{
		"sqlite":   func(t *testing.T) string { return dbtest.SQLite(t) },
		"postgres": func(t *testing.T) string { return dbtest.Postgres(t) },
	}
	for name, newDB := range dbs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := &cluster{t: t, bin: binary(t), dsn: newDB(t)}
			cmd, base, _ := startServe(t, c.bin, c.env())

			var acked sync.Map
			var n atomic.Int64
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 2000; i++ {
						name := fmt.Sprintf("k%d-%d", w, i)
						s, err := postUser(base, name)
						if err != nil {
							return
						}
						if s == 201 {
							acked.Store(name, true)
							n.Add(1)
						}
					}
				}()
			}
			for n.Load() < 30 {
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			wg.Wait()

			out, errOut, code := runBinaryIn(c.bin, c.env(), "", "user", "list")
			if code != 0 {
				t.Fatalf("user list after SIGKILL: %s", errOut)
			}
			missing := 0
			acked.Range(func(k, _ any) bool {
				if !strings.Contains(out, " "+k.(string)+" ") {
					missing++
				}
				return true
			})
			if missing > 0 {
				t.Errorf("%d of %d acknowledged users missing after SIGKILL", missing, n.Load())
			}
			// And the restarted service works on the same database.
			base = c.start()
			c.signUp(base, "after-restart", "correct horse battery")
		})
	}
}

func postUser(base, name string) (int, error) {
	cmd := fmt.Sprintf(`{"username":%q,"password":"correct horse battery"}`, name)
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Post(base+"/users", "application/json", strings.NewReader(cmd))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
