package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/rest"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// benchApp builds the real application (SQLite file, JSON access log to
// io.Discard) with the given GATEHOUSE_* settings, with or without the
// metrics wiring serve adds.
func benchApp(b *testing.B, withMetrics bool, env map[string]string) (*app, http.Handler) {
	b.Helper()
	vars := map[string]string{"GATEHOUSE_DB": filepath.Join(b.TempDir(), "gatehouse.db")}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	cfg.Metrics = withMetrics
	a, err := build(context.Background(), cfg, io.Discard, buildOptions{hash: testParams})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.close() })
	deps := a.httpDeps()
	opts := rest.Options{Issuer: cfg.Issuer}
	instrument(a, &opts)
	return a, rest.New(deps, opts, a.log)
}

// mint signs n distinct access tokens with the app's own key.
func mint(b *testing.B, a *app, n int) []string {
	b.Helper()
	iss := token.NewIssuer(a.ring, a.cfg.Issuer, a.cfg.Audience)
	now := time.Now()
	out := make([]string, n)
	for i := range out {
		tok, err := iss.Issue(context.Background(), domain.Claims{
			ID: fmt.Sprint("jti-", i), Subject: "u1", Username: "alice", SessionID: fmt.Sprint("s-", i),
			IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = tok
	}
	return out
}

// BenchmarkProtectedEndToEnd serves GET /protected_resource through the
// whole application in-process (no network): "cached" presents one token
// over and over (the verified-token cache answers), "distinct" presents a
// token never seen before on every request (one signature check each).
// With and without the metrics wiring, for EdDSA and HS256.
func BenchmarkProtectedEndToEnd(b *testing.B) {
	for _, alg := range []string{token.AlgEdDSA, token.AlgHS256} {
		env := map[string]string{"GATEHOUSE_SIGNING_ALG": alg}
		if alg == token.AlgHS256 {
			env["GATEHOUSE_JWT_SECRET"] = "bench-secret-bench-secret-bench-secret-0123"
		}
		for _, withMetrics := range []bool{false, true} {
			name := alg + "/plain"
			if withMetrics {
				name = alg + "/metrics"
			}
			b.Run(name+"/cached", func(b *testing.B) {
				a, h := benchApp(b, withMetrics, env)
				req := protectedRequest(mint(b, a, 1)[0])
				b.ReportAllocs()
				for b.Loop() {
					serveOnce(b, h, req)
				}
			})
			b.Run(name+"/distinct", func(b *testing.B) {
				a, h := benchApp(b, withMetrics, env)
				toks := mint(b, a, b.N)
				reqs := make([]*http.Request, b.N)
				for i, t := range toks {
					reqs[i] = protectedRequest(t)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					serveOnce(b, h, reqs[i])
				}
			})
		}
	}
}

// protectedRequest is a parsed GET /protected_resource carrying tok; it is
// built before the timer starts, as a server gets it from net/http.
func protectedRequest(tok string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/protected_resource", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return req
}

func serveOnce(b *testing.B, h http.Handler, req *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET /protected_resource = %d %s", rec.Code, rec.Body)
	}
}

// BenchmarkTokenEndpoint runs POST /oauth/token through the whole
// application in-process, one request after the other: what one grant costs
// with the HTTP layer (form parsing, JSON, access log) on top of the use
// case, on SQLite.
func BenchmarkTokenEndpoint(b *testing.B) {
	post := func(b *testing.B, h http.Handler, form string, basic [2]string) []byte {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic[0] != "" {
			req.SetBasicAuth(basic[0], basic[1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("POST /oauth/token %.40s = %d %s", form, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	b.Run("refresh_token", func(b *testing.B) {
		a, h := benchApp(b, true, nil)
		if _, err := a.register.Create(context.Background(), "alice", "correct horse battery", nil); err != nil {
			b.Fatal(err)
		}
		body := post(b, h, "grant_type=password&username=alice&password=correct+horse+battery", [2]string{})
		b.ReportAllocs()
		for b.Loop() {
			var pair struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(body, &pair); err != nil {
				b.Fatal(err)
			}
			body = post(b, h, "grant_type=refresh_token&refresh_token="+url.QueryEscape(pair.RefreshToken), [2]string{})
		}
	})
	b.Run("client_credentials", func(b *testing.B) {
		a, h := benchApp(b, true, nil)
		c, secret, err := a.clients.Create(context.Background(), "billing", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			post(b, h, "grant_type=client_credentials", [2]string{c.ID, secret})
		}
	})
}

// BenchmarkAPIKeyVsToken serves GET /protected_resource through the whole
// application in-process (metrics wiring on, as serve has it): "token"
// presents one access token over and over (the verified-token cache
// answers), "api_key" one API key over and over (the verified-key cache
// answers; the store was read once). DESIGN.md wants the key at least 0.9x
// the token's rate.
func BenchmarkAPIKeyVsToken(b *testing.B) {
	setup := func(b *testing.B) (*app, http.Handler, string) {
		a, h := benchApp(b, true, nil)
		u, err := a.register.Create(context.Background(), "alice", "correct horse battery", nil)
		if err != nil {
			b.Fatal(err)
		}
		_, key, err := a.apiKeys.Create(context.Background(), u.ID, usecase.APIKeyInput{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		return a, h, key
	}
	run := func(b *testing.B, h http.Handler, req *http.Request) {
		serveOnce(b, h, req) // warm the cache
		b.ReportAllocs()
		for b.Loop() {
			serveOnce(b, h, req)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("token", func(b *testing.B) {
		a, h, _ := setup(b)
		run(b, h, protectedRequest(mint(b, a, 1)[0]))
	})
	b.Run("api_key", func(b *testing.B) {
		_, h, key := setup(b)
		run(b, h, protectedRequest(key))
	})
	// interleaved serves one token request and one key request per
	// iteration, on one app, timing each: the machine's noise (other
	// load, GC) then falls on both alike, and key_rate_vs_token is the
	// figure DESIGN.md's 0.9x is about.
	b.Run("interleaved", func(b *testing.B) {
		a, h, key := setup(b)
		tokReq, keyReq := protectedRequest(mint(b, a, 1)[0]), protectedRequest(key)
		serveOnce(b, h, tokReq)
		serveOnce(b, h, keyReq)
		var tokTime, keyTime time.Duration
		for i := 0; b.Loop(); i++ {
			first, second := tokReq, keyReq
			if i%2 == 1 {
				first, second = keyReq, tokReq
			}
			t0 := time.Now()
			serveOnce(b, h, first)
			t1 := time.Now()
			serveOnce(b, h, second)
			t2 := time.Now()
			if first == tokReq {
				tokTime, keyTime = tokTime+t1.Sub(t0), keyTime+t2.Sub(t1)
			} else {
				keyTime, tokTime = keyTime+t1.Sub(t0), tokTime+t2.Sub(t1)
			}
		}
		b.ReportMetric(float64(tokTime.Nanoseconds())/float64(b.N), "ns/token")
		b.ReportMetric(float64(keyTime.Nanoseconds())/float64(b.N), "ns/key")
		b.ReportMetric(float64(tokTime)/float64(keyTime), "key_rate_vs_token")
	})
	b.Run("api_key_header", func(b *testing.B) {
		_, h, key := setup(b)
		req := httptest.NewRequest(http.MethodGet, "/protected_resource", nil)
		req.Header.Set("X-API-Key", key)
		run(b, h, req)
	})
}
