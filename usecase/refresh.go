package usecase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// Refresh exchanges a refresh token for a new token pair, rotating the
// refresh token (RFC 9700 4.14.2). Reuse of an old token revokes the whole
// session; racing clients that present the immediately previous token
// within the reuse interval get the same successor.
type Refresh struct {
	store   domain.RefreshStore
	revoked *RevocationList
	minter  minter
	policy  TokenPolicy
	now     func() time.Time
	log     *slog.Logger
	metrics Metrics
	tracer  Tracer
}

// NewRefresh returns a Refresh. revoked learns at once about sessions that
// Refresh revokes for reuse. The tokens it issues and every reuse it
// detects are reported to metrics (nil reports nothing); its spans go to
// tracer (nil traces nothing).
func NewRefresh(store domain.RefreshStore, issuer domain.TokenIssuer,
	revoked *RevocationList, policy TokenPolicy, now func() time.Time, log *slog.Logger, metrics Metrics, tracer Tracer) *Refresh {
	return &Refresh{
		store:   store,
		revoked: revoked,
		minter:  minter{issuer: issuer, policy: policy, now: now},
		policy:  policy,
		now:     now,
		log:     log,
		metrics: orNoMetrics(metrics),
		tracer:  orNoTracer(tracer),
	}
}

// Refresh validates token and returns the next token pair of its session.
// Every refusal is domain.ErrInvalidGrant; store failures are wrapped as is.
// Its span, usecase.Refresh, carries the grant, the outcome, the session
// and user ids once the token is found, and an event when reuse revoked
// the session.
func (r *Refresh) Refresh(ctx context.Context, token string) (*TokenPair, error) {
	ctx, span := r.tracer.Start(ctx, spanRefresh)
	defer span.End()
	if span.Recording() {
		span.SetString(attrGrant, GrantRefreshToken)
	}
	pair, err := r.refresh(ctx, span, token)
	if err == nil {
		r.metrics.TokenIssued(GrantRefreshToken)
	}
	traceOutcome(span, grantOutcome(err), err != nil)
	return pair, err
}

// refresh is Refresh below its span, which learns the session and the user,
// and of a reuse.
func (r *Refresh) refresh(ctx context.Context, span Span, token string) (*TokenPair, error) {
	if token == "" {
		return nil, domain.ErrInvalidGrant
	}
	// One read for the token, its session and its user: this grant is the
	// hottest path of the service.
	g, err := r.store.RefreshGrant(ctx, hashToken(token))
	if err != nil {
		return nil, grantErr("find refresh token", err)
	}
	rec, sess, u := &g.Token, &g.Session, &g.User
	traceIDs(span, u.ID, sess.ID)
	now := r.now().UTC().Truncate(time.Microsecond)
	if !liveGrant(g, now) {
		// A session outlives no credential change of its user; the store's
		// rotation checks the stamp again, atomically.
		return nil, domain.ErrInvalidGrant
	}

	if rec.Generation == sess.Generation {
		next := newSecret(refreshTokenBytes)
		sealed, err := seal(token, next)
		if err != nil {
			return nil, err
		}
		err = r.store.RotateRefreshToken(ctx, domain.Rotation{
			SessionID:       sess.ID,
			FromGeneration:  sess.Generation,
			NewHash:         hashToken(next),
			SealedSuccessor: sealed,
			At:              now,
		})
		switch {
		case err == nil:
			return r.minter.pair(ctx, u, sess, next)
		case !errors.Is(err, domain.ErrConflict):
			return nil, grantErr("rotate refresh token", err)
		}
		// A concurrent request rotated first: fall through as a holder of
		// the previous token.
		if sess, err = r.store.SessionByID(ctx, sess.ID); err != nil {
			return nil, grantErr("reload session", err)
		}
		if sess.Revoked() || sess.UserStamp != u.Stamp {
			return nil, domain.ErrInvalidGrant // ended meanwhile: not a reuse
		}
	}

	if rec.Generation == sess.Generation-1 && !sess.Revoked() && r.policy.ReuseInterval > 0 && now.Sub(sess.RotatedAt) <= r.policy.ReuseInterval {
		next, err := unseal(token, sess.SealedSuccessor)
		if err == nil {
			return r.minter.pair(ctx, u, sess, next)
		}
		r.log.WarnContext(ctx, "refresh successor did not unseal", "session_id", sess.ID, "err", err)
	}
	if err := r.reuse(ctx, span, sess); err != nil {
		return nil, err
	}
	return nil, domain.ErrInvalidGrant
}

// reuse revokes a session whose old refresh token came back: someone other
// than its rightful holder may have it. refresh.reuse_detected and
// session.revoked commit with the revocation; Gatehouse is their actor
// (whoever presented the token is unknown), the request's address and
// User-Agent are kept. The refresh's span gets an event.
func (r *Refresh) reuse(ctx context.Context, span Span, sess *domain.Session) error {
	now := r.now().UTC()
	r.log.WarnContext(ctx, "refresh token reuse; session revoked", "session_id", sess.ID, "user_id", sess.UserID)
	r.metrics.RefreshReuse()
	span.AddEvent(string(domain.EventRefreshReuseDetected))
	expires := now.Add(r.policy.revocationLifetime())
	detected := newEvent(ctx, now, domain.EventRefreshReuseDetected, sess.UserID, systemActor)
	revoked := newEvent(ctx, now, domain.EventSessionRevoked, sess.UserID, systemActor)
	detected.Actor, revoked.Actor = systemActor, systemActor
	detected.SessionID, revoked.SessionID = sess.ID, sess.ID
	revoked.Details.Scope, revoked.Details.Reason = revokedSession, reasonRefreshReuse
	events := []domain.Event{detected, revoked}
	ids, err := r.store.RevokeSessions(ctx, domain.SessionRevocation{SessionID: sess.ID, At: now, FeedExpires: expires, Events: events})
	if err != nil {
		return fmt.Errorf("revoke reused session: %w", err)
	}
	if len(ids) > 0 {
		countWritten(r.metrics, events)
	}
	r.revoked.Add(ids, expires)
	return nil
}

// grantErr maps a missing record to invalid_grant and wraps anything else
// (an outage stays an outage, not a client error).
func grantErr(op string, err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return domain.ErrInvalidGrant
	}
	return fmt.Errorf("%s: %w", op, err)
}
