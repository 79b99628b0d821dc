package usecase

import "time"

// DefaultTokenPolicy returns DESIGN.md's token lifetimes, for tests that
// build use cases without a configuration.
func DefaultTokenPolicy() TokenPolicy {
	return TokenPolicy{
		AccessTTL:     15 * time.Minute,
		RefreshTTL:    30 * 24 * time.Hour,
		ReuseInterval: 10 * time.Second,
		Leeway:        30 * time.Second,
	}
}
