package usecase

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Keys lists and rotates signing keys (admin API and CLI).
type Keys struct {
	manager domain.KeyManager
}

// NewKeys returns a Keys.
func NewKeys(manager domain.KeyManager) *Keys { return &Keys{manager: manager} }

// Rotate makes a new key the active signing key and returns its kid. Old
// public keys stay published until their tokens have expired.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	kid, err := k.manager.Rotate(ctx)
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	return kid, nil
}

// List returns the known keys, newest first.
func (k *Keys) List(ctx context.Context) ([]domain.SigningKey, error) {
	return k.manager.Keys(ctx)
}
