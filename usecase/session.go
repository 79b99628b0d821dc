package usecase

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// refreshTokenBytes is the entropy of a refresh token: 256 bits.
const refreshTokenBytes = 32

// minter signs the access token of a session and pairs it with a refresh
// token; Login (through sessions) and Refresh share it.
type minter struct {
	issuer domain.TokenIssuer
	policy TokenPolicy
	now    func() time.Time
}

// sessions starts sessions (Login) and mints their first tokens.
type sessions struct {
	store domain.SessionCreator
	minter
}

// authn is how a login authenticated: the amr and acr that its session and
// every token of the session carry.
type authn struct {
	amr []string
	acr string
}

var (
	// byPassword is a login by password alone.
	byPassword = authn{amr: []string{domain.AMRPassword}, acr: domain.ACRAAL1}
	// byPasswordAndOTP is a login by password and a second factor (a TOTP
	// or a recovery code).
	byPasswordAndOTP = authn{amr: []string{domain.AMRPassword, domain.AMROTP}, acr: domain.ACRAAL2}
)

// start opens a session for u from the client at ip with userAgent,
// authenticated as by says, and returns its first token pair. The store
// refuses it (ErrConflict) if u's stamp has moved on since u was read.
func (s *sessions) start(ctx context.Context, u *domain.User, scope []string, ip, userAgent string, by authn) (*TokenPair, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	refresh := newSecret(refreshTokenBytes)
	sess := &domain.Session{
		ID:         newID(now),
		UserID:     u.ID,
		UserStamp:  u.Stamp,
		Scope:      slices.Clone(scope),
		CreatedAt:  now,
		ExpiresAt:  now.Add(s.policy.RefreshTTL),
		RotatedAt:  now,
		LastUsedAt: now,
		IP:         ip,
		UserAgent:  domain.TruncateUserAgent(userAgent),
		AMR:        slices.Clone(by.amr),
		ACR:        by.acr,
	}
	first := domain.RefreshToken{Hash: hashToken(refresh), SessionID: sess.ID, CreatedAt: now}
	if err := s.store.CreateSession(ctx, sess, first); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return s.pair(ctx, u, sess, refresh)
}

// pair signs an access token for the session and bundles it with refresh.
// The token carries the session's amr and acr: a refresh keeps them.
func (s *minter) pair(ctx context.Context, u *domain.User, sess *domain.Session, refresh string) (*TokenPair, error) {
	now := s.now().UTC()
	// An access token never outlives its session.
	exp := now.Add(s.policy.AccessTTL)
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	claims := domain.Claims{
		ID:        newID(now),
		Subject:   u.ID,
		Username:  u.Username,
		SessionID: sess.ID,
		Scope:     sess.Scope,
		Roles:     u.Roles,
		AMR:       sess.AMR,
		ACR:       sess.ACR,
		IssuedAt:  now,
		NotBefore: now,
		ExpiresAt: exp,
	}
	access, err := s.issuer.Issue(ctx, claims)
	if err != nil {
		return nil, fmt.Errorf("issue access token: %w", err)
	}
	return &TokenPair{
		AccessToken:  access,
		RefreshToken: refresh,
		ExpiresIn:    exp.Sub(now),
		Scope:        sess.Scope,
		SessionID:    sess.ID,
	}, nil
}

// hashToken is how refresh tokens are stored: a copy of the database alone
// never yields a usable token.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// successorKey derives the key that seals a successor token from its
// predecessor, which only the predecessor's holder has.
func successorKey(prev string) []byte {
	k := sha256.Sum256([]byte("gatehouse refresh successor v1\x00" + prev))
	return k[:]
}

// seal encrypts next under a key derived from prev (AES-256-GCM).
func seal(prev, next string) ([]byte, error) {
	aead, err := newAEAD(successorKey(prev))
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce) // never fails, see newID
	return aead.Seal(nonce, nonce, []byte(next), nil), nil
}

// unseal reverses seal; it fails unless prev is the right predecessor.
func unseal(prev string, sealed []byte) (string, error) {
	aead, err := newAEAD(successorKey(prev))
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed successor too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return "", fmt.Errorf("open sealed successor: %w", err)
	}
	return string(plain), nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("successor cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// liveGrant reports whether the session behind g may still be refreshed at
// now: not revoked, not past its absolute end, and resting on its user's
// current state (enabled, same security stamp). It does not judge which
// generation the token is: Refresh accepts the previous one within the
// reuse interval, Introspect calls only the current one active.
func liveGrant(g *domain.RefreshGrant, now time.Time) bool {
	s, u := &g.Session, &g.User
	return !s.Revoked() && now.Before(s.ExpiresAt) && !u.Disabled && s.UserStamp == u.Stamp
}
