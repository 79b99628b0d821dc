package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

func cloneTOTP(t domain.TOTP) domain.TOTP {
	t.Secret = cloneBytes(t.Secret)
	return t
}

func cloneMFAToken(t domain.MFAToken) domain.MFAToken {
	t.Hash = cloneBytes(t.Hash)
	t.Scope = cloneStrings(t.Scope)
	return t
}

// applyMFAChange applies ch to the user u (checked by ChangeUser: an
// Enable has a pending factor); the caller holds s.mu.
func (s *Store) applyMFAChange(u *domain.User, ch *domain.MFAChange, at time.Time) {
	switch {
	case ch.Enable:
		t := s.totp[u.ID]
		t.ConfirmedAt, t.LastStep = at, ch.Step
		s.totp[u.ID] = t
		u.MFAEnabled = true
	case ch.Disable:
		delete(s.totp, u.ID)
		delete(s.recoveryCodes, u.ID)
		u.MFAEnabled = false
	}
	if ch.RecoveryCodes != nil {
		codes := make(map[string]time.Time, len(ch.RecoveryCodes))
		for _, h := range ch.RecoveryCodes {
			codes[string(h)] = time.Time{}
		}
		s.recoveryCodes[u.ID] = codes
	}
}

// deleteMFAOf removes the user's factor, codes and mfa tokens; the caller
// holds s.mu.
func (s *Store) deleteMFAOf(userID string) {
	delete(s.totp, userID)
	delete(s.recoveryCodes, userID)
	for h, t := range s.mfaTokens {
		if t.UserID == userID {
			delete(s.mfaTokens, h)
		}
	}
}

// PutPendingTOTP stores a copy of t as the user's pending factor;
// ErrMFAAlreadyEnabled if a confirmed one exists, ErrNotFound if the user
// is gone.
func (s *Store) PutPendingTOTP(ctx context.Context, t *domain.TOTP) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[t.UserID]; !ok {
		return fmt.Errorf("put pending totp of user %s: %w", t.UserID, domain.ErrNotFound)
	}
	if old, ok := s.totp[t.UserID]; ok && old.Confirmed() {
		return fmt.Errorf("put pending totp of user %s: %w", t.UserID, domain.ErrMFAAlreadyEnabled)
	}
	p := cloneTOTP(*t)
	p.ConfirmedAt = time.Time{}
	s.totp[t.UserID] = p
	return nil
}

// TOTPOf returns a copy of the user's factor or ErrNotFound.
func (s *Store) TOTPOf(ctx context.Context, userID string) (*domain.TOTP, error) {
	return get(ctx, s, s.totp, userID, cloneTOTP, "totp of user "+userID)
}

// UseTOTPStep records step if it is later than the stored one.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.totp[userID]
	if !ok {
		return false, fmt.Errorf("use totp step of user %s: %w", userID, domain.ErrNotFound)
	}
	if step <= t.LastStep {
		return false, nil
	}
	t.LastStep = step
	s.totp[userID] = t
	return true, nil
}

// UseRecoveryCode marks the unused code with hash used at at and writes
// events; false when no unused code matches.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time, events []domain.Event) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	used, ok := s.recoveryCodes[userID][string(hash)]
	if !ok || !used.IsZero() {
		return false, nil
	}
	if err := s.checkEvents(events); err != nil {
		return false, err
	}
	s.recoveryCodes[userID][string(hash)] = at
	s.addEvents(events)
	return true, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, used := range s.recoveryCodes[userID] {
		if used.IsZero() {
			n++
		}
	}
	return n, nil
}

// CreateMFAToken stores a copy of t; ErrNotFound if its user is gone,
// ErrConflict if the hash is taken.
func (s *Store) CreateMFAToken(ctx context.Context, t *domain.MFAToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[t.UserID]; !ok {
		return fmt.Errorf("create mfa token: user %s: %w", t.UserID, domain.ErrNotFound)
	}
	if _, ok := s.mfaTokens[string(t.Hash)]; ok {
		return fmt.Errorf("create mfa token: %w", domain.ErrConflict)
	}
	s.mfaTokens[string(t.Hash)] = cloneMFAToken(*t)
	return nil
}

// MFATokenByHash returns a copy of the token or ErrNotFound.
func (s *Store) MFATokenByHash(ctx context.Context, hash []byte) (*domain.MFAToken, error) {
	return get(ctx, s, s.mfaTokens, string(hash), cloneMFAToken, "mfa token")
}

// FailMFAToken counts one wrong code and returns the failures after it.
func (s *Store) FailMFAToken(ctx context.Context, hash []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.mfaTokens[string(hash)]
	if !ok {
		return 0, fmt.Errorf("fail mfa token: %w", domain.ErrNotFound)
	}
	t.Failures++
	s.mfaTokens[string(hash)] = t
	return t.Failures, nil
}

// ConsumeMFAToken marks the token used at now if it is live then.
func (s *Store) ConsumeMFAToken(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.mfaTokens[string(hash)]
	if !ok || !t.Live(now) {
		return false, nil
	}
	t.UsedAt = now
	s.mfaTokens[string(hash)] = t
	return true, nil
}

// PruneMFATokens deletes the tokens that expired before before.
func (s *Store) PruneMFATokens(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for h, t := range s.mfaTokens {
		if t.ExpiresAt.Before(before) {
			delete(s.mfaTokens, h)
			n++
		}
	}
	return n, nil
}
