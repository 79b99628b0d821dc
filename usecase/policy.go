package usecase

import "time"

// TokenPolicy holds the lifetimes that govern issued tokens.
type TokenPolicy struct {
	AccessTTL time.Duration // access token lifetime
	// RefreshTTL is the absolute session lifetime: refreshing never
	// extends a session past CreatedAt+RefreshTTL.
	RefreshTTL time.Duration
	// ReuseInterval is how long the previous refresh token still yields
	// the same successor (racing clients).
	ReuseInterval time.Duration
	// Leeway is the clock skew tolerated by verifiers; revocation entries
	// are kept for AccessTTL+Leeway.
	Leeway time.Duration
	// UserScopes are the scopes a user may request with the password grant.
	UserScopes []string
}

// revocationLifetime is how long a revoked session must stay in the feed:
// after it, no access token of that session can still be accepted.
func (p TokenPolicy) revocationLifetime() time.Duration { return p.AccessTTL + p.Leeway }

// TokenPair is what a successful grant returns.
type TokenPair struct {
	AccessToken  string
	RefreshToken string // empty for client_credentials
	ExpiresIn    time.Duration
	Scope        []string
	SessionID    string
}
