package usecase

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/mfa"
	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

// totpAt is an independent RFC 6238 TOTP (testkit.TOTPStep) of the base32
// secret at t: the code a user's authenticator app shows.
func totpAt(tb testing.TB, secret string, t time.Time) string {
	return testkit.TOTPStep(tb, secret, t.Unix()/30)
}

// mfaEnv is an env whose store has the MFA part and whose Login has MFA.
type mfaEnv struct {
	*env
	fake *fakeMFA
	mfa  *MFA
}

// stepStart is a time at the start of a TOTP step, for MFA tests.
var stepStart = time.Unix(1_900_000_020, 0).UTC()

func newMFAEnv(t *testing.T, kek []byte) *mfaEnv {
	t.Helper()
	e := newEnv(t)
	e.clock.Set(stepStart)
	fake := newFakeMFA(e.rec)
	e.build(fake)
	box, err := token.NewSecretBox(kek)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMFA(fake, fake, box, mfa.NewTOTP(), e.revoke, "", e.clock.Now, e.metrics, e.loginEvents)
	e.login = e.newLogin(fake, m)
	return &mfaEnv{env: e, fake: fake, mfa: m}
}

// enrolled is a user with MFA on: its secret, its recovery codes, and the
// session that turned MFA on.
type enrolled struct {
	user   *domain.User
	secret string
	codes  []string
	pair   *TokenPair
}

// enable registers name, logs in and turns MFA on, then moves the clock on
// past the confirming code's drift window; or fails the test.
func (e *mfaEnv) enable(name string) *enrolled {
	e.t.Helper()
	u := e.addUser(name, "correct horse battery")
	pair := e.signIn(name, "correct horse battery")
	c := e.claims(pair.AccessToken)
	enr, err := e.mfa.Enroll(e.ctx, c)
	testkit.WantErr(e.t, "Enroll", err, nil)
	codes, err := e.mfa.Confirm(e.ctx, c, totpAt(e.t, enr.Secret, e.clock.Now()))
	testkit.WantErr(e.t, "Confirm", err, nil)
	e.clock.Advance(5 * domain.TOTPPeriod)
	u.MFAEnabled = true
	return &enrolled{user: u, secret: enr.Secret, codes: codes, pair: pair}
}

// code is the user's current TOTP code, drift steps away from now.
func (e *mfaEnv) code(en *enrolled, drift int) string {
	return totpAt(e.t, en.secret, e.clock.Now().Add(time.Duration(drift)*domain.TOTPPeriod))
}

// mfaToken logs in with the password and returns the mfa_token, or fails.
func (e *mfaEnv) mfaToken(name string) string {
	e.t.Helper()
	_, err := e.login.Login(e.ctx, LoginInput{Username: name, Password: "correct horse battery", IP: "192.0.2.1"})
	var req *domain.MFARequiredError
	if !errors.As(err, &req) || req.Token == "" {
		e.t.Fatalf("Login(%q) = %v; want *MFARequiredError with a token", name, err)
	}
	return req.Token
}

func TestMFAEnrollConfirm(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, bytes.Repeat([]byte("k"), 32))
	u := e.addUser("alice", "correct horse battery")
	mine := e.signIn("alice", "correct horse battery")
	other := e.signIn("alice", "correct horse battery")
	c := e.claims(mine.AccessToken)

	if _, err := e.mfa.Confirm(e.ctx, c, "123456"); !errors.Is(err, domain.ErrMFANotEnabled) {
		t.Errorf("Confirm(nothing pending) = %v; want %v", err, domain.ErrMFANotEnabled)
	}
	enr, err := e.mfa.Enroll(e.ctx, c)
	testkit.WantErr(t, "Enroll", err, nil)
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(enr.Secret) {
		t.Errorf("Secret = %q; want 32 base32 characters (160 bits)", enr.Secret)
	}
	if !strings.HasPrefix(enr.URL, "otpauth://totp/Gatehouse:alice?") || !strings.Contains(enr.URL, "secret="+enr.Secret) {
		t.Errorf("URL = %q; want otpauth://totp/Gatehouse:alice?...secret=%s", enr.URL, enr.Secret)
	}
	stored, _ := e.fake.storedTOTP(u.ID)
	if bytes.Contains(stored.Secret, []byte(enr.Secret)) || stored.Confirmed() {
		t.Errorf("stored factor = %q confirmed %v; want the secret sealed, pending", stored.Secret, stored.Confirmed())
	}

	wrong := totpAt(t, enr.Secret, e.clock.Now().Add(-3*domain.TOTPPeriod))
	if _, err := e.mfa.Confirm(e.ctx, c, wrong); !errors.Is(err, domain.ErrInvalidCode) {
		t.Errorf("Confirm(wrong code) = %v; want %v", err, domain.ErrInvalidCode)
	}
	codes, err := e.mfa.Confirm(e.ctx, c, totpAt(t, enr.Secret, e.clock.Now()))
	testkit.WantErr(t, "Confirm", err, nil)
	if len(codes) != domain.RecoveryCodeCount || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != len(codes) {
		t.Fatalf("Confirm() = %q; want %d distinct codes", codes, domain.RecoveryCodeCount)
	}
	for _, code := range codes {
		if !regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$`).MatchString(code) {
			t.Errorf("recovery code %q; want xxxx-xxxx-xxxx of base32", code)
		}
	}
	// Only hashes are kept: SHA-256 of the code without dashes.
	kept := e.fake.storedCodes(u.ID)
	if len(kept) != len(codes) {
		t.Fatalf("stored %d codes; want %d", len(kept), len(codes))
	}
	for i, code := range codes {
		want := sha256.Sum256([]byte(strings.ReplaceAll(code, "-", "")))
		if !bytes.Equal(kept[i].hash, want[:]) {
			t.Errorf("stored code %d = %x; want SHA-256 of the normalised code", i, kept[i].hash)
		}
	}
	if _, err := e.refresh.Refresh(e.ctx, other.RefreshToken); !errors.Is(err, domain.ErrInvalidGrant) {
		t.Errorf("Refresh(other session) = %v; want %v: enabling MFA ends other sessions", err, domain.ErrInvalidGrant)
	}
	e.mustRefresh(mine.RefreshToken) // the caller's session continues

	if _, err := e.mfa.Enroll(e.ctx, c); !errors.Is(err, domain.ErrMFAAlreadyEnabled) {
		t.Errorf("Enroll(on) = %v; want %v", err, domain.ErrMFAAlreadyEnabled)
	}
	if _, err := e.mfa.Confirm(e.ctx, c, "123456"); !errors.Is(err, domain.ErrMFAAlreadyEnabled) {
		t.Errorf("Confirm(on) = %v; want %v", err, domain.ErrMFAAlreadyEnabled)
	}
	var types []domain.EventType
	for _, ev := range e.rec.take() {
		types = append(types, ev.Type)
	}
	if !slices.Contains(types, domain.EventMFAEnabled) {
		t.Errorf("committed events %v; want mfa.enabled", types)
	}
	recorded, _ := e.loginEvents.take()
	if n := countType(recorded, domain.EventMFAFailed); n != 1 {
		t.Errorf("recorded %d mfa.failed; want 1 (the wrong confirmation)", n)
	}
	assertNoSecrets(t, append(recorded, e.rec.take()...), append(codes, enr.Secret, wrong))
}

func countType(events []domain.Event, t domain.EventType) int {
	n := 0
	for _, ev := range events {
		if ev.Type == t {
			n++
		}
	}
	return n
}

// assertNoSecrets fails when any event mentions one of secrets.
func assertNoSecrets(t *testing.T, events []domain.Event, secrets []string) {
	t.Helper()
	for _, ev := range events {
		text := fmt.Sprintf("%+v", ev)
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("event %s holds a code or secret: %s", ev.Type, text)
			}
		}
	}
}

func TestMFACodeWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		code func(e *mfaEnv, en *enrolled) string
		ok   bool
	}{
		{"now", func(e *mfaEnv, en *enrolled) string { return e.code(en, 0) }, true},
		{"one step behind", func(e *mfaEnv, en *enrolled) string { return e.code(en, -1) }, true},
		{"one step ahead", func(e *mfaEnv, en *enrolled) string { return e.code(en, 1) }, true},
		{"two steps behind", func(e *mfaEnv, en *enrolled) string { return e.code(en, -2) }, false},
		{"two steps ahead", func(e *mfaEnv, en *enrolled) string { return e.code(en, 2) }, false},
		{"five digits", func(e *mfaEnv, en *enrolled) string { return e.code(en, 0)[1:] }, false},
		{"seven digits", func(e *mfaEnv, en *enrolled) string { return e.code(en, 0) + "0" }, false},
		{"spaces", func(e *mfaEnv, en *enrolled) string { return " " + e.code(en, 0)[1:] }, false},
		{"non-numeric", func(e *mfaEnv, en *enrolled) string { return "12a456" }, false},
		{"unicode digits", func(e *mfaEnv, en *enrolled) string { return "１２３４５６" }, false},
		{"recovery code as otp", func(e *mfaEnv, en *enrolled) string { return en.codes[0] }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newMFAEnv(t, nil)
			en := e.enable("alice")
			code := tc.code(e, en)
			pair, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "correct horse battery", OTP: code, IP: "192.0.2.1"})
			if tc.ok {
				testkit.WantErr(t, "Login(otp)", err, nil)
				if c := e.claims(pair.AccessToken); !slices.Equal(c.AMR, []string{"pwd", "otp"}) || c.ACR != "aal2" {
					t.Errorf("claims amr, acr = %v, %q; want [pwd otp], aal2", c.AMR, c.ACR)
				}
				// An accepted code is never accepted again.
				_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "correct horse battery", OTP: code, IP: "192.0.2.1"})
				testkit.WantErr(t, "Login(replayed otp)", err, domain.ErrInvalidCredentials)
			} else {
				testkit.WantErr(t, "Login(otp)", err, domain.ErrInvalidCredentials)
			}
			recorded, _ := e.loginEvents.take()
			assertNoSecrets(t, recorded, []string{code, en.secret})
		})
	}
}

func TestMFALoginRequiresSecondStep(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	metrics := newRecorder()
	e.metrics = metrics
	e.build(e.fake)
	e.login = e.newLogin(e.fake, e.mfa)
	en := e.enable("alice")

	tok := e.mfaToken("alice")
	if metrics.count("login:mfa_required") != 1 || metrics.count("issued:password") != 1 {
		t.Errorf("metrics = %s; want one mfa_required, no token issued for it", metrics)
	}
	// Exactly one code.
	for _, in := range []MFALoginInput{{Token: tok}, {Token: tok, OTP: e.code(en, 0), RecoveryCode: en.codes[0]}} {
		var ve *domain.ValidationError
		if _, err := e.login.CompleteMFA(e.ctx, in); !errors.As(err, &ve) || ve.Code != "invalid_request" {
			t.Errorf("CompleteMFA(%d codes) = %v; want invalid_request", len(in.OTP+in.RecoveryCode)/6, err)
		}
	}
	wrong := e.code(en, -3)
	if _, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: tok, OTP: wrong, IP: "192.0.2.1"}); !errors.Is(err, domain.ErrInvalidGrant) {
		t.Errorf("CompleteMFA(wrong) = %v; want %v", err, domain.ErrInvalidGrant)
	}
	pair, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: tok, OTP: e.code(en, 0), IP: "192.0.2.9", UserAgent: "ua"})
	testkit.WantErr(t, "CompleteMFA", err, nil)
	c := e.claims(pair.AccessToken)
	if !slices.Equal(c.AMR, []string{"pwd", "otp"}) || c.ACR != "aal2" {
		t.Errorf("claims amr, acr = %v, %q; want [pwd otp], aal2", c.AMR, c.ACR)
	}
	next := e.mustRefresh(pair.RefreshToken)
	if c := e.claims(next.AccessToken); !slices.Equal(c.AMR, []string{"pwd", "otp"}) || c.ACR != "aal2" {
		t.Errorf("refreshed claims amr, acr = %v, %q; want them kept", c.AMR, c.ACR)
	}
	if metrics.count("issued:mfa_otp") != 1 || metrics.count("login:success") != 2 {
		t.Errorf("metrics = %s; want one mfa_otp token and two successes (enrolment's login and this)", metrics)
	}
	// The token is single use.
	if _, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: tok, OTP: e.code(en, 1)}); !errors.Is(err, domain.ErrInvalidGrant) {
		t.Errorf("CompleteMFA(used token) = %v; want %v", err, domain.ErrInvalidGrant)
	}
	recorded, _ := e.loginEvents.take()
	if countType(recorded, domain.EventMFAFailed) != 1 || countType(recorded, domain.EventLoginSucceeded) < 1 {
		t.Errorf("recorded %v; want one mfa.failed and login.succeeded", recorded)
	}
	assertNoSecrets(t, recorded, []string{tok, wrong, en.secret})
}

func TestMFATokenDiesAfterFiveWrongCodes(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	en := e.enable("alice")
	tok := e.mfaToken("alice")
	for i := range domain.MFATokenMaxFailures {
		e.clock.Advance(20 * time.Second) // past the throttle's backoff: only the token's limit here
		_, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: tok, OTP: fmt.Sprintf("%06d", i), IP: "192.0.2.1"})
		testkit.WantErr(t, "CompleteMFA(wrong)", err, domain.ErrInvalidGrant)
	}
	e.clock.Advance(time.Minute)
	_, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: tok, OTP: e.code(en, 0), IP: "192.0.2.1"})
	testkit.WantErr(t, "CompleteMFA(right code, dead token)", err, domain.ErrInvalidGrant)
}

func TestMFAWrongCodesCountOnTheThrottle(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	en := e.enable("alice")
	tok := e.mfaToken("alice")
	for i := range 4 {
		_, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: tok, OTP: fmt.Sprintf("%06d", i), IP: "192.0.2.1"})
		testkit.WantErr(t, "CompleteMFA(wrong)", err, domain.ErrInvalidGrant)
	}
	// The password attempt and four wrong codes: the pair is in backoff,
	// and a right password does not reset it.
	_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "correct horse battery", OTP: e.code(en, 0), IP: "192.0.2.1"})
	var te *domain.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("Login after five failures = %v; want *ThrottledError", err)
	}
	// After the backoff, a right code settles the streak.
	e.clock.Advance(time.Minute)
	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "correct horse battery", OTP: e.code(en, 0), IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(right otp)", err, nil)
	for range 3 {
		e.mfaToken("alice") // abandoned second steps count, until a success
	}
	e.clock.Advance(domain.TOTPPeriod)
	_, err = e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "correct horse battery", OTP: e.code(en, 0), IP: "192.0.2.1"})
	testkit.WantErr(t, "Login(right otp after three abandoned)", err, nil)
}

func TestMFATokenExpires(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	en := e.enable("alice")
	tok := e.mfaToken("alice")
	e.clock.Advance(domain.MFATokenTTL)
	_, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: tok, OTP: e.code(en, 0)})
	testkit.WantErr(t, "CompleteMFA(expired)", err, domain.ErrInvalidGrant)
	_, err = e.login.CompleteMFA(e.ctx, MFALoginInput{Token: "unknown", OTP: e.code(en, 0)})
	testkit.WantErr(t, "CompleteMFA(unknown)", err, domain.ErrInvalidGrant)
}

func TestMFAPruneTokens(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	e.enable("alice")
	e.mfaToken("alice")
	e.clock.Advance(domain.MFATokenTTL - time.Second)
	live := e.mfaToken("alice")
	e.clock.Advance(2 * time.Second) // the first has expired, the second not
	n, err := e.mfa.PruneTokens(e.ctx)
	if err != nil || n != 1 {
		t.Fatalf("PruneTokens = %d, %v; want 1 (the expired one)", n, err)
	}
	if _, err := e.fake.MFATokenByHash(e.ctx, hashToken(live)); err != nil {
		t.Errorf("the live token was pruned: %v", err)
	}
}

func TestMFAUserChangedBetweenPasswordAndCode(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	en := e.enable("alice")
	tok := e.mfaToken("alice")
	testkit.WantErr(t, "SetPassword", e.users.SetPassword(e.ctx, en.user.ID, "another good password"), nil)
	_, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: tok, OTP: e.code(en, 0)})
	testkit.WantErr(t, "CompleteMFA(after a password change)", err, domain.ErrInvalidGrant)
}

func TestMFARecoveryCodeLogin(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	en := e.enable("alice")
	spaced := strings.ToUpper(strings.ReplaceAll(en.codes[3], "-", " "))
	pair, err := e.login.CompleteMFA(e.ctx, MFALoginInput{Token: e.mfaToken("alice"), RecoveryCode: spaced})
	testkit.WantErr(t, "CompleteMFA(recovery code)", err, nil)
	if c := e.claims(pair.AccessToken); c.ACR != "aal2" {
		t.Errorf("acr = %q; want aal2", c.ACR)
	}
	if n := countType(e.rec.take(), domain.EventMFARecoveryCodeUsed); n != 1 {
		t.Errorf("committed %d mfa.recovery_code_used; want 1", n)
	}
	_, err = e.login.CompleteMFA(e.ctx, MFALoginInput{Token: e.mfaToken("alice"), RecoveryCode: en.codes[3]})
	testkit.WantErr(t, "CompleteMFA(spent recovery code)", err, domain.ErrInvalidGrant)
}

func TestMFADisable(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"totp", "recovery code"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			e := newMFAEnv(t, nil)
			en := e.enable("alice")
			other, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "correct horse battery", OTP: e.code(en, 0)})
			testkit.WantErr(t, "Login(otp)", err, nil)
			e.clock.Advance(domain.TOTPPeriod)
			c := e.claims(en.pair.AccessToken)
			testkit.WantErr(t, "Disable(wrong)", e.mfa.Disable(e.ctx, c, "000000"), domain.ErrInvalidCode)
			code := e.code(en, 0)
			if by != "totp" {
				code = en.codes[0]
			}
			testkit.WantErr(t, "Disable", e.mfa.Disable(e.ctx, c, code), nil)
			if _, err := e.refresh.Refresh(e.ctx, other.RefreshToken); !errors.Is(err, domain.ErrInvalidGrant) {
				t.Errorf("Refresh(other session) = %v; want it ended", err)
			}
			e.mustRefresh(en.pair.RefreshToken)
			if p := e.signIn("alice", "correct horse battery"); e.claims(p.AccessToken).ACR != "aal1" {
				t.Error("login after Disable: want aal1 tokens without a second step")
			}
			testkit.WantErr(t, "Disable(off)", e.mfa.Disable(e.ctx, c, code), domain.ErrMFANotEnabled)
			if n := countType(e.rec.take(), domain.EventMFADisabled); n != 1 {
				t.Errorf("committed %d mfa.disabled; want 1", n)
			}
		})
	}
}

func TestMFARegenerateCodes(t *testing.T) {
	t.Parallel()
	for _, by := range []string{"totp", "recovery code"} {
		t.Run(by, func(t *testing.T) {
			t.Parallel()
			e := newMFAEnv(t, nil)
			en := e.enable("alice")
			c := e.claims(en.pair.AccessToken)
			code := e.code(en, 0)
			if by != "totp" {
				code = en.codes[9]
			}
			fresh, err := e.mfa.RegenerateCodes(e.ctx, c, code)
			testkit.WantErr(t, "RegenerateCodes", err, nil)
			if len(fresh) != domain.RecoveryCodeCount || slices.Contains(fresh, en.codes[0]) {
				t.Fatalf("RegenerateCodes() = %q; want %d new codes", fresh, domain.RecoveryCodeCount)
			}
			_, err = e.login.CompleteMFA(e.ctx, MFALoginInput{Token: e.mfaToken("alice"), RecoveryCode: en.codes[0]})
			testkit.WantErr(t, "CompleteMFA(old code)", err, domain.ErrInvalidGrant)
			_, err = e.login.CompleteMFA(e.ctx, MFALoginInput{Token: e.mfaToken("alice"), RecoveryCode: fresh[0]})
			testkit.WantErr(t, "CompleteMFA(new code)", err, nil)
			_, err = e.mfa.RegenerateCodes(e.ctx, c, code) // spent or replayed
			testkit.WantErr(t, "RegenerateCodes(same code again)", err, domain.ErrInvalidCode)
		})
	}
}

func TestMFAReset(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	en := e.enable("alice")
	testkit.WantErr(t, "Reset(unknown)", e.mfa.Reset(e.ctx, "no-such-user"), domain.ErrNotFound)
	testkit.WantErr(t, "Reset", e.mfa.Reset(e.ctx, en.user.ID), nil)
	if _, err := e.refresh.Refresh(e.ctx, en.pair.RefreshToken); !errors.Is(err, domain.ErrInvalidGrant) {
		t.Errorf("Refresh(after reset) = %v; want every session ended", err)
	}
	testkit.WantErr(t, "Reset(off)", e.mfa.Reset(e.ctx, en.user.ID), domain.ErrMFANotEnabled)
	e.signIn("alice", "correct horse battery")
}

// TestLoginWithoutMFACostsNothing: a user without MFA logs in with one
// user read and no MFA store call, and gets pwd/aal1 tokens.
func TestLoginWithoutMFACostsNothing(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	e.addUser("bob", "correct horse battery")
	before := e.fake.callCounts()
	pair, err := e.login.Login(e.ctx, LoginInput{Username: "bob", Password: "correct horse battery", OTP: "123456"})
	testkit.WantErr(t, "Login", err, nil)
	after := e.fake.callCounts()
	for name, n := range after {
		if d := n - before[name]; d != 0 && (name != "UserByUsername" || d != 1) {
			t.Errorf("Login made %d %s calls; want one UserByUsername and nothing else", d, name)
		}
	}
	c := e.claims(pair.AccessToken)
	if !slices.Equal(c.AMR, []string{"pwd"}) || c.ACR != "aal1" {
		t.Errorf("claims amr, acr = %v, %q; want [pwd], aal1", c.AMR, c.ACR)
	}
	if c := e.claims(e.mustRefresh(pair.RefreshToken).AccessToken); c.ACR != "aal1" {
		t.Errorf("refreshed acr = %q; want aal1 kept", c.ACR)
	}
}

// TestLoginWithoutMFARefuses: a Login built without MFA never opens a
// session for a user with MFA.
func TestLoginWithoutMFARefuses(t *testing.T) {
	t.Parallel()
	e := newMFAEnv(t, nil)
	e.enable("alice")
	e.build(e.fake) // a Login without MFA
	_, err := e.login.Login(e.ctx, LoginInput{Username: "alice", Password: "correct horse battery"})
	if err == nil || errors.Is(err, domain.ErrInvalidCredentials) {
		t.Errorf("Login(no MFA wiring) = %v; want a server error", err)
	}
}

func TestTOTPEnrolmentLogsNoSecret(t *testing.T) {
	t.Parallel()
	var buf testkit.LogBuffer
	enr := &TOTPEnrolment{Secret: "JBSWY3DPEHPK3PXP", URL: "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("enrolled", "enrolment", *enr)
	if strings.Contains(buf.String(), "JBSWY3DP") {
		t.Errorf("log = %s; want the secret redacted", buf.String())
	}
}
