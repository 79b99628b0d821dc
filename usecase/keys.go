package usecase

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Keys lists and rotates signing keys (admin API and CLI).
//
// A rotation keeps the algorithm of the active key unless the caller asked
// for another one explicitly (KeyRotation.Switch, set only by
// "gatehouse keys rotate --alg"): every replica verifies with one
// configured algorithm, so an implicit change would lock them out. Every
// rotation is logged with the new kid, its algorithm and who asked; an
// algorithm change is logged as a warning.
type Keys struct {
	manager domain.KeyManager
	alg     string
	now     func() time.Time
	log     *slog.Logger
	metrics Metrics
}

// KeyRotation is one requested rotation.
type KeyRotation struct {
	// By names who asked, for the log: "admin" or "cli".
	By string
	// Switch allows the new key's algorithm to differ from the active
	// key's.
	Switch bool
}

// NewKeys returns a Keys whose manager makes keys of alg, the configured
// signing algorithm. A nil log discards the rotation log. Every rotation
// commits a signing_key.rotated event, reported to metrics (nil reports
// nothing).
func NewKeys(manager domain.KeyManager, alg string, now func() time.Time, log *slog.Logger, metrics Metrics) *Keys {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keys{manager: manager, alg: alg, now: now, log: log, metrics: orNoMetrics(metrics)}
}

// Rotate is the admin API's rotation: a new key of the configured
// algorithm, refused when the active key has another algorithm.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	return k.RotateAs(ctx, KeyRotation{By: "admin"})
}

// RotateAs makes a new key of the configured algorithm the active signing
// key and returns its kid. Old public keys stay published until their
// tokens have expired. Unless r.Switch, it refuses (a *ValidationError)
// when the active key has another algorithm; a store without a key gets
// its first one.
func (k *Keys) RotateAs(ctx context.Context, r KeyRotation) (string, error) {
	keys, err := k.manager.Keys(ctx)
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	var prev *domain.SigningKey
	for i := range keys {
		if keys[i].Active() {
			prev = &keys[i]
			break
		}
	}
	switched := prev != nil && prev.Algorithm != k.alg
	if switched && !r.Switch {
		return "", &domain.ValidationError{Code: domain.CodeInvalidRequest, Message: fmt.Sprintf(
			"the active signing key is %s but the configured algorithm is %s; a rotation keeps the algorithm unless it is chosen explicitly: gatehouse keys rotate --alg %s",
			prev.Algorithm, k.alg, k.alg)}
	}
	// The manager fills in the new key's kid and alg.
	ev := newEvent(ctx, k.now(), domain.EventSigningKeyRotated, "", domain.Actor{})
	if by := rotationActor(r.By); OriginFrom(ctx).Actor.Type == "" && by.Type != "" {
		ev.Actor = by // the caller said who asked; the Origin did not
	}
	kid, err := k.manager.Rotate(ctx, ev)
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	k.metrics.EventsWritten(domain.EventSigningKeyRotated, 1)
	attrs := []any{"kid", kid, "alg", k.alg, "by", r.By}
	if prev != nil {
		attrs = append(attrs, "previous_kid", prev.ID, "previous_alg", prev.Algorithm)
	}
	if switched {
		k.log.Warn("signing algorithm changed", attrs...)
	} else {
		k.log.Info("signing key rotated", attrs...)
	}
	return kid, nil
}

// rotationActor is the actor of a rotation asked for by by ("admin" or
// "cli"), for when the Origin names none.
func rotationActor(by string) domain.Actor {
	switch by {
	case "admin":
		return domain.Actor{Type: domain.ActorAdmin}
	case "cli":
		return domain.Actor{Type: domain.ActorCLI}
	}
	return domain.Actor{}
}

// List returns the known keys, newest first.
func (k *Keys) List(ctx context.Context) ([]domain.SigningKey, error) {
	return k.manager.Keys(ctx)
}
