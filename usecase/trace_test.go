package usecase

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-auth/gatehouse/adapter/password"
	"github.com/gatehouse-auth/gatehouse/adapter/storage/memory"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
	"github.com/gatehouse-auth/gatehouse/internal/testkit/spantest"
)

// Traced is the Tracer the tests give the use cases: the OpenTelemetry
// adapter (adapter/spans) on the global provider, as the server wires it.
// The adapter imports usecase, so only the external test package can
// build it: otel_test.go sets Traced before TestMain runs.
var Traced Tracer

func TestMain(m *testing.M) {
	if Traced == nil {
		fmt.Fprintln(os.Stderr, "usecase tests: Traced is not set (otel_test.go)")
		os.Exit(2)
	}
	spantest.Install() // Traced and the hasher's tracer delegate to the global provider
	os.Exit(m.Run())
}

// traced runs a test under a root span of its own (spantest.Traced).
var traced = spantest.Traced

// named returns the spans of ss called name.
func named(ss tracetest.SpanStubs, name string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range ss {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the only span of ss called name, or fails the test.
func one(t *testing.T, ss tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	got := named(ss, name)
	if len(got) != 1 {
		t.Fatalf("%d spans %s among %q; want 1", len(got), name, spanNames(ss))
	}
	return got[0]
}

func spanNames(ss tracetest.SpanStubs) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

// childrenOf returns the names of the direct children of parent in ss.
func childrenOf(ss tracetest.SpanStubs, parent tracetest.SpanStub) []string {
	var out []string
	for _, s := range ss {
		if s.Parent.SpanID() == parent.SpanContext.SpanID() && s.Parent.TraceID() == parent.SpanContext.TraceID() {
			out = append(out, s.Name)
		}
	}
	return out
}

// wantAttrs fails unless s has each of want (and is an internal span).
func wantAttrs(t *testing.T, s tracetest.SpanStub, want ...attribute.KeyValue) {
	t.Helper()
	have := make(map[attribute.Key]attribute.Value, len(s.Attributes))
	for _, kv := range s.Attributes {
		have[kv.Key] = kv.Value
	}
	for _, kv := range want {
		if v, ok := have[kv.Key]; !ok || v != kv.Value {
			t.Errorf("span %s %s = %q (set %v); want %q", s.Name, kv.Key, v.String(), ok, kv.Value.String())
		}
	}
	if s.SpanKind != trace.SpanKindInternal {
		t.Errorf("span %s kind = %v; want internal", s.Name, s.SpanKind)
	}
}

// wantStatus fails unless s ended with code and description.
func wantStatus(t *testing.T, s tracetest.SpanStub, code codes.Code, description string) {
	t.Helper()
	if s.Status.Code != code || s.Status.Description != description {
		t.Errorf("span %s status = %v %q; want %v %q", s.Name, s.Status.Code, s.Status.Description, code, description)
	}
}

// hashedLogin is a Login on the memory store with the real (bounded)
// hasher at cheap parameters, so its spans are there, and alice
// registered with password pw.
func hashedLogin(t *testing.T, pw string) (*Login, *domain.User) {
	t.Helper()
	clk := newClock()
	store := memory.New()
	hasher := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 2)
	u, err := NewRegister(store, hasher, nil, domain.DefaultPasswordMinLength, true, clk.Now, nil).Create(t.Context(), "alice", pw, nil)
	testkit.WantErr(t, "Create(alice)", err, nil)
	policy := DefaultTokenPolicy()
	return NewLogin(store, store, hasher, newFakeTokens(clk), NewThrottle(store, DefaultThrottlePolicy(), clk.Now), nil, policy, clk.Now, nil, nil, nil, Traced), u
}

func TestTraceLogin(t *testing.T) {
	t.Parallel()
	const pw = "tracing login password"
	login, u := hashedLogin(t, pw)
	tests := []struct {
		name     string
		password string
		outcome  string
		status   codes.Code
	}{
		{"right password", pw, LoginSuccess, codes.Unset},
		{"wrong password", pw + "!", LoginInvalidCredentials, codes.Error},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, done := traced(t)
			pair, err := login.Login(ctx, LoginInput{Username: "alice", Password: tc.password, IP: "192.0.2.1", Grant: LoginGrantGetToken})
			if got := LoginOutcome(err); got != tc.outcome {
				t.Fatalf("Login(%s) = %v; want outcome %s", tc.name, err, tc.outcome)
			}
			got := done()
			span := one(t, got, spanLogin)
			if span.Parent.SpanID() != got[0].SpanContext.SpanID() {
				t.Errorf("%s parent = %s; want the caller's span %s", spanLogin, span.Parent.SpanID(), got[0].SpanContext.SpanID())
			}
			if kids := childrenOf(got, span); strings.Join(kids, ",") != "password.queue_wait,password.verify" {
				t.Errorf("children of %s = %q; want password.queue_wait, password.verify", spanLogin, kids)
			}
			want := []attribute.KeyValue{attribute.String(attrGrant, LoginGrantGetToken), attribute.String(attrOutcome, tc.outcome)}
			if pair != nil {
				want = append(want, attribute.String(attrUserID, u.ID), attribute.String(attrSessionID, pair.SessionID))
			}
			wantAttrs(t, span, want...)
			wantStatus(t, span, tc.status, map[bool]string{true: tc.outcome}[tc.status == codes.Error])
			for _, s := range got {
				for _, kv := range s.Attributes {
					if kv.Value.String() == "alice" {
						t.Errorf("span %s %s carries the username", s.Name, kv.Key)
					}
				}
			}
		})
	}
}

func TestTraceRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addUser("alice", "correct horse battery")
	pair := e.signIn("alice", "correct horse battery")
	claims := e.claims(pair.AccessToken)

	ctx, done := traced(t)
	_, err := e.refresh.Refresh(ctx, pair.RefreshToken)
	testkit.WantErr(t, "Refresh", err, nil)
	e.clock.Advance(e.policy.ReuseInterval + time.Second)
	_, err = e.refresh.Refresh(ctx, pair.RefreshToken) // reused, past the reuse interval: revokes
	testkit.WantErr(t, "Refresh(reused)", err, domain.ErrInvalidGrant)
	got := named(done(), spanRefresh)
	if len(got) != 2 {
		t.Fatalf("%d %s spans; want 2", len(got), spanRefresh)
	}
	wantAttrs(t, got[0], attribute.String(attrGrant, GrantRefreshToken), attribute.String(attrOutcome, grantSuccess),
		attribute.String(attrSessionID, pair.SessionID), attribute.String(attrUserID, claims.Subject))
	wantStatus(t, got[0], codes.Unset, "")
	wantAttrs(t, got[1], attribute.String(attrOutcome, grantInvalid), attribute.String(attrSessionID, pair.SessionID))
	wantStatus(t, got[1], codes.Error, grantInvalid)
	if len(got[1].Events) != 1 || got[1].Events[0].Name != string(domain.EventRefreshReuseDetected) {
		t.Errorf("reused refresh span events = %v; want one %s", got[1].Events, domain.EventRefreshReuseDetected)
	}
}

func TestTraceWebhookDelivery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		code    int
		err     error
		outcome string
		status  codes.Code
	}{
		{"delivered", 204, nil, WebhookDelivered, codes.Unset},
		{"refused", 503, nil, WebhookRetry, codes.Error},
		{"no answer", 0, errors.New("dial tcp: connection refused"), WebhookRetry, codes.Error},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, out, _, _, _ := hookDispatcher(func(domain.DeliveryJob, int) (int, error) { return tc.code, tc.err })
			out.add("d1", hookT0)
			ctx, done := traced(t)
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatalf("RunOnce() = %v; want nil", err)
			}
			got := done()
			span := one(t, got, spanDeliver)
			want := []attribute.KeyValue{
				attribute.String(attrWebhookID, "hook-d1"), attribute.String(attrEventID, "ev-d1"),
				attribute.String(attrEventType, string(domain.EventLoginSucceeded)), attribute.String(attrDeliveryID, "d1"),
				attribute.Int(attrAttempt, 1), attribute.String(attrOutcome, tc.outcome),
			}
			if tc.code != 0 {
				want = append(want, attribute.Int(attrStatusCode, tc.code))
			}
			wantAttrs(t, span, want...)
			wantStatus(t, span, tc.status, map[bool]string{true: tc.outcome}[tc.status == codes.Error])
			job := out.rows["d1"].job
			checkRedacted(t, got, job.URL, job.Secret, strings.TrimPrefix(job.Secret, domain.WebhookSecretPrefix), "receiver.example", "connection refused")
		})
	}
}

// TestTraceRedaction runs every traced use case that takes a secret and
// looks for each secret in every span of the trace.
func TestTraceRedaction(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	ctx, done := traced(t)
	e.ctx = ctx
	const pw = "correct horse battery"

	// Login with a password, then refresh its token.
	u := e.addUser("bob", pw)
	pair := e.signIn("bob", pw)
	_, err := e.login.Login(ctx, LoginInput{Username: "bob", Password: "wrong " + pw, IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(wrong password)", err, domain.ErrInvalidCredentials)
	next := e.mustRefresh(pair.RefreshToken)

	// Exchange an API key, and a wrong one.
	_, key, err := e.apiKeys.Create(ctx, u.ID, APIKeyInput{Name: "ci"})
	testkit.WantErr(t, "Create(api key)", err, nil)
	exchanged, err := e.apiKeys.Exchange(ctx, key, nil)
	testkit.WantErr(t, "Exchange", err, nil)
	badKey := key[:len(key)-4] + "AAAA"
	_, err = e.apiKeys.Exchange(ctx, badKey, nil)
	if !errors.Is(err, domain.ErrInvalidSubjectToken) {
		t.Fatalf("Exchange(bad key) = %v; want ErrInvalidSubjectToken", err)
	}

	// The second step of an MFA login: a wrong code, a right one, a
	// recovery code.
	en := e.enable("carol")
	mfaToken := e.mfaToken("carol")
	wrong := e.code(en, 3)
	_, err = e.login.CompleteMFA(ctx, MFALoginInput{Token: mfaToken, OTP: wrong})
	testkit.WantErr(t, "CompleteMFA(wrong code)", err, domain.ErrInvalidGrant)
	code := e.code(en, 0)
	mfaPair, err := e.login.CompleteMFA(ctx, MFALoginInput{Token: mfaToken, OTP: code})
	testkit.WantErr(t, "CompleteMFA", err, nil)
	recoveryToken := e.mfaToken("carol")
	_, err = e.login.CompleteMFA(ctx, MFALoginInput{Token: recoveryToken, RecoveryCode: en.codes[0]})
	testkit.WantErr(t, "CompleteMFA(recovery code)", err, nil)

	got := done()
	for name, n := range map[string]int{spanLogin: 5, spanRefresh: 1, spanExchange: 2, spanCompleteMFA: 3} {
		if have := len(named(got, name)); have < n {
			t.Errorf("%d %s spans; want at least %d", have, name, n)
		}
	}
	mfa := named(got, spanCompleteMFA)
	wantAttrs(t, mfa[0], attribute.String(attrGrant, GrantMFAOTP), attribute.String(attrMFAMethod, methodTOTP), attribute.String(attrOutcome, LoginInvalidCredentials), attribute.String(attrUserID, en.user.ID))
	wantStatus(t, mfa[0], codes.Error, LoginInvalidCredentials)
	wantAttrs(t, mfa[2], attribute.String(attrMFAMethod, methodRecoveryCode), attribute.String(attrOutcome, LoginSuccess))
	ex := named(got, spanExchange)
	wantAttrs(t, ex[0], attribute.String(attrGrant, GrantTokenExchange), attribute.String(attrOutcome, grantSuccess), attribute.String(attrUserID, u.ID))
	wantAttrs(t, ex[1], attribute.String(attrOutcome, grantInvalidSubjectToken))

	secrets := []string{pw, pair.AccessToken, pair.RefreshToken, next.AccessToken, next.RefreshToken,
		key, badKey, exchanged.AccessToken, mfaToken, recoveryToken, wrong, code, en.codes[0], en.secret,
		mfaPair.AccessToken, mfaPair.RefreshToken, en.pair.AccessToken, en.pair.RefreshToken}
	for _, s := range []*domain.User{u, en.user} {
		if s.PasswordHash != "" {
			secrets = append(secrets, s.PasswordHash)
		}
	}
	checkRedacted(t, got, secrets...)
}

// checkRedacted fails if a span name, status, attribute or event of got
// contains any of secrets.
func checkRedacted(t *testing.T, got tracetest.SpanStubs, secrets ...string) {
	t.Helper()
	for _, s := range got {
		texts := []string{s.Name, s.Status.Description}
		for _, kv := range s.Attributes {
			texts = append(texts, string(kv.Key), kv.Value.String())
		}
		for _, ev := range s.Events {
			texts = append(texts, ev.Name)
			for _, kv := range ev.Attributes {
				texts = append(texts, string(kv.Key), kv.Value.String())
			}
		}
		for _, text := range texts {
			for _, secret := range secrets {
				if secret != "" && strings.Contains(text, secret) {
					t.Errorf("span %s carries a secret: %q", s.Name, text)
				}
			}
		}
	}
}

// TestNoTracerAllocatesNothing: with tracing off (a nil Tracer) a use
// case's span is NoSpan, its context is the caller's, and marking it costs
// no allocation. Not parallel: AllocsPerRun counts the whole process.
func TestNoTracerAllocatesNothing(t *testing.T) {
	tracer := orNoTracer(nil)
	ctx := t.Context()
	if got, span := tracer.Start(ctx, spanLogin); got != ctx || span != (NoSpan{}) {
		t.Errorf("Start = %v, %T; want the caller's context and NoSpan", got, span)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, span := tracer.Start(ctx, spanLogin)
		if span.Recording() {
			span.SetString(attrGrant, LoginGrantPassword)
		}
		traceIDs(span, "u1", "s1")
		traceOutcome(span, LoginInvalidCredentials, true)
		span.AddEvent(string(domain.EventRefreshReuseDetected))
		span.End()
	})
	if allocs != 0 {
		t.Errorf("a span with tracing off allocates %v times; want 0", allocs)
	}
}
