package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// newReceiver starts a webhook destination answering status with more
// than Send reads.
func newReceiver(t *testing.T, status int) *testkit.Receiver {
	t.Helper()
	return testkit.NewReceiver(t, status, bytes.Repeat([]byte("x"), 1<<20))
}

// last returns the last request r got.
func last(t *testing.T, r *testkit.Receiver) testkit.Request {
	t.Helper()
	got := r.Requests()
	if len(got) == 0 {
		t.Fatal("the receiver got nothing")
	}
	return got[len(got)-1]
}

func testSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	return domain.WebhookSecretPrefix + base64.StdEncoding.EncodeToString(key)
}

func testEvent() domain.Event {
	return domain.Event{
		ID:    "0190a5f4-8c3e-7b12-9a4f-3c2d1e0f9a8b",
		Time:  time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("X", 2*3600)),
		Type:  domain.EventLoginSucceeded,
		Actor: domain.Actor{Type: domain.ActorUser, ID: "u1"},
	}
}

func job(t *testing.T, rawURL string) domain.DeliveryJob {
	t.Helper()
	return domain.DeliveryJob{
		Delivery: domain.Delivery{ID: "d1", WebhookID: "w1", EventID: testEvent().ID},
		URL:      rawURL,
		Secret:   testSecret(t),
		Event:    testEvent(),
		Claim:    "claim",
	}
}

func TestSendSignatureVerifiesWithStandardWebhooks(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, http.StatusNoContent)
	s := NewSender(true, nil)
	j := job(t, r.URL+"/hook")
	code, err := s.Send(t.Context(), j)
	if err != nil || code != http.StatusNoContent {
		t.Fatalf("Send = %d, %v; want 204, nil", code, err)
	}
	got := last(t, r)

	wh, err := standardwebhooks.NewWebhook(j.Secret)
	if err != nil {
		t.Fatalf("standardwebhooks.NewWebhook: %v", err)
	}
	if err := wh.Verify(got.Body, got.Header); err != nil {
		t.Errorf("standard-webhooks Verify of our delivery: %v", err)
	}
	if id := got.Header.Get("webhook-id"); id != j.Event.ID {
		t.Errorf("webhook-id = %q; want the event id %q", id, j.Event.ID)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", ct)
	}
	if ua := got.Header.Get("User-Agent"); !strings.Contains(ua, "Gatehouse") {
		t.Errorf("User-Agent = %q; want it to name Gatehouse", ua)
	}

	tampered := bytes.Replace(got.Body, []byte("login.succeeded"), []byte("login.failed"), 1)
	if err := wh.Verify(tampered, got.Header); err == nil {
		t.Error("Verify accepted a tampered body")
	}
	other, _ := standardwebhooks.NewWebhook(testSecret(t))
	if err := other.Verify(got.Body, got.Header); err == nil {
		t.Error("Verify accepted the signature under another secret")
	}
}

func TestSignMatchesStandardWebhooks(t *testing.T) {
	t.Parallel()
	secret := testSecret(t)
	ts := time.Unix(1700000000, 999)
	body := []byte(`{"type":"user.created"}`)
	got, err := Sign(secret, "msg_1", ts, body)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	want, err := wh.Sign("msg_1", ts, body)
	if err != nil {
		t.Fatalf("standardwebhooks Sign: %v", err)
	}
	if got != want {
		t.Errorf("Sign = %q; want %q", got, want)
	}
	for _, bad := range []string{"", "c2VjcmV0", "whsec_", "whsec_!!!"} {
		if _, err := Sign(bad, "msg_1", ts, body); err == nil {
			t.Errorf("Sign(secret %q) succeeded; want an error", bad)
		} else if bad != "" && bad != "whsec_" && strings.Contains(err.Error(), strings.TrimPrefix(bad, "whsec_")) {
			t.Errorf("Sign error %q repeats the secret", err)
		}
	}
}

func TestSendAnswersStatusCode(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 201, 400, 410, 500, 503} {
		r := newReceiver(t, status)
		code, err := NewSender(true, nil).Send(t.Context(), job(t, r.URL))
		if code != status || err != nil {
			t.Errorf("Send to a %d receiver = %d, %v; want %d, nil", status, code, err, status)
		}
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target := newReceiver(t, http.StatusOK)
	redirector := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	t.Cleanup(redirector.Close)
	code, err := NewSender(true, nil).Send(t.Context(), job(t, redirector.URL))
	if code != http.StatusFound || err != nil {
		t.Errorf("Send to a redirect = %d, %v; want 302, nil", code, err)
	}
	if n := len(target.Requests()); n != 0 {
		t.Errorf("the redirect target got %d requests; want 0", n)
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	s := NewSender(true, nil)
	s.timeout = 200 * time.Millisecond
	start := time.Now()
	code, err := s.Send(t.Context(), job(t, slow.URL))
	if code != 0 || err == nil {
		t.Fatalf("Send to a silent receiver = %d, %v; want 0 and an error", code, err)
	}
	if !strings.Contains(err.Error(), "no answer within") {
		t.Errorf("Send error = %q; want it to say no answer came in time", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Send took %s; want about the 200ms timeout", took)
	}
}

func TestSendErrorNamesNoURL(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	code, err := NewSender(true, nil).Send(t.Context(), job(t, closed.URL+"/services/T0/B0/pathSecret?token=querySecret"))
	if code != 0 || err == nil {
		t.Fatalf("Send to a closed port = %d, %v; want 0 and an error", code, err)
	}
	for _, secret := range []string{"pathSecret", "querySecret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Send error %q repeats the URL", err)
		}
	}
}

func TestSendRefusesPrivateDestinations(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, http.StatusOK)
	port := r.URL[strings.LastIndex(r.URL, ":")+1:]
	urls := []string{
		"http://127.0.0.1:" + port,
		"http://[::1]:" + port,
		"http://localhost:" + port, // a name that resolves to loopback
		"http://[::ffff:127.0.0.1]:" + port,
		"http://10.0.0.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/",
		"http://0.0.0.0:" + port,
	}
	s := NewSender(false, nil)
	for _, u := range urls {
		code, err := s.Send(t.Context(), job(t, u))
		var refused *RefusedError
		if code != 0 || !errors.As(err, &refused) {
			t.Errorf("Send(%s) = %d, %v; want 0 and a *RefusedError", u, code, err)
		}
		if err := s.CheckDestination(t.Context(), u); !errors.As(err, &refused) {
			t.Errorf("CheckDestination(%s) = %v; want a *RefusedError", u, err)
		}
	}
	if n := len(r.Requests()); n != 0 {
		t.Errorf("the loopback receiver got %d requests; want 0", n)
	}

	// The same receiver is reachable when private destinations are allowed.
	allowed := NewSender(true, nil)
	if err := allowed.CheckDestination(t.Context(), r.URL); err != nil {
		t.Errorf("CheckDestination(%s) with private allowed = %v; want nil", r.URL, err)
	}
	if code, err := allowed.Send(t.Context(), job(t, r.URL)); code != http.StatusOK || err != nil {
		t.Errorf("Send(%s) with private allowed = %d, %v; want 200, nil", r.URL, code, err)
	}
}

func TestCheckDestinationPublicAddress(t *testing.T) {
	t.Parallel()
	s := NewSender(false, nil)
	for _, u := range []string{"https://93.184.215.14/hook", "https://[2606:4700:4700::1111]:8443/x"} {
		if err := s.CheckDestination(t.Context(), u); err != nil {
			t.Errorf("CheckDestination(%s) = %v; want nil", u, err)
		}
	}
	s.resolver = resolverFunc(func(_ context.Context, _, host string) ([]netip.Addr, error) {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	})
	if err := s.CheckDestination(t.Context(), "https://no-such-host.invalid/"); err == nil || !strings.Contains(err.Error(), "does not resolve") {
		t.Errorf("CheckDestination of a name that does not resolve = %v; want it refused as unresolvable", err)
	}
}

func TestCheckDestinationResolvesEveryAddress(t *testing.T) {
	t.Parallel()
	// A resolver whose every answer is one public and one private address:
	// one refused address refuses the host.
	s := NewSender(false, nil)
	s.resolver = fakeResolver(t, "203.0.113.7", "192.168.1.10")
	err := s.CheckDestination(t.Context(), "https://hooks.example.com/x")
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Addr != netip.MustParseAddr("192.168.1.10") {
		t.Fatalf("CheckDestination = %v; want a refusal of 192.168.1.10", err)
	}
	if !strings.Contains(err.Error(), "hooks.example.com") {
		t.Errorf("CheckDestination error %q; want it to name the host", err)
	}
	s.resolver = fakeResolver(t, "203.0.113.7")
	if err := s.CheckDestination(t.Context(), "https://hooks.example.com/x"); err != nil {
		t.Errorf("CheckDestination with only a public address = %v; want nil", err)
	}
}

func TestRefusal(t *testing.T) {
	t.Parallel()
	refused := []string{
		"127.0.0.1", "127.255.0.9", "::1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "fe80::1", "fc00::1", "fd12:3456::1", "0.0.0.0", "::", "0.1.2.3",
		"224.0.0.1", "ff02::1", "100.64.0.1", "100.127.255.255", "255.255.255.255",
		"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "64:ff9b::7f00:1",
	}
	allowed := []string{"8.8.8.8", "93.184.215.14", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"}
	for _, s := range refused {
		if why := refusal(netip.MustParseAddr(s)); why == "" {
			t.Errorf("refusal(%s) = \"\"; want it refused", s)
		}
	}
	for _, s := range allowed {
		if why := refusal(netip.MustParseAddr(s)); why != "" {
			t.Errorf("refusal(%s) = %q; want it allowed", s, why)
		}
	}
}

func TestControlJudgesDialledAddress(t *testing.T) {
	t.Parallel()
	// The dial hook judges the address dialled, after resolution, so a
	// name that passed CheckDestination and now resolves to loopback (DNS
	// rebinding) still cannot reach it.
	s := NewSender(false, nil)
	if err := s.control("tcp4", "127.0.0.1:9", nil); err == nil {
		t.Error("control(127.0.0.1:9) = nil; want a refusal")
	}
	if err := s.control("tcp4", "203.0.113.7:443", nil); err != nil {
		t.Errorf("control(203.0.113.7:443) = %v; want nil", err)
	}
	if err := s.control("tcp", "not-an-address", nil); err == nil {
		t.Error("control(not-an-address) = nil; want a refusal (fail closed)")
	}
}

// resolverFunc is a fake resolver.
type resolverFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

func (f resolverFunc) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return f(ctx, network, host)
}

// fakeResolver answers every name with addrs.
func fakeResolver(t *testing.T, addrs ...string) resolver {
	t.Helper()
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return resolverFunc(func(context.Context, string, string) ([]netip.Addr, error) { return out, nil })
}
