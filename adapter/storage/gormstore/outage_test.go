package gormstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/storage/gormstore"
	"github.com/gatehouse-auth/gatehouse/domain"
	"github.com/gatehouse-auth/gatehouse/infrastructure/database/dbtest"
)

// TestOutageIsUnavailable checks that a database that cannot be reached is
// reported as domain.ErrUnavailable (503), while a missing record stays
// domain.ErrNotFound.
func TestOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	db := dbtest.Migrated(t, dbtest.SQLite(t))
	s := gormstore.New(db)
	ctx := context.Background()
	if _, err := s.UserByID(ctx, "nobody"); !errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("UserByID(missing) = %v; want ErrNotFound only", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.Close()

	now := time.Now().UTC()
	calls := map[string]error{}
	_, calls["UserByID"] = s.UserByID(ctx, "nobody")
	calls["CreateUser"] = s.CreateUser(ctx, &domain.User{ID: "u1", Username: "alice", CreatedAt: now, UpdatedAt: now}, nil)
	calls["CreateSession"] = s.CreateSession(ctx, &domain.Session{ID: "s1", UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, domain.RefreshToken{Hash: []byte("h"), CreatedAt: now})
	_, calls["RefreshGrant"] = s.RefreshGrant(ctx, []byte("h"))
	calls["RotateRefreshToken"] = s.RotateRefreshToken(ctx, domain.Rotation{SessionID: "s1", NewHash: []byte("h2"), At: now})
	_, calls["RevokeSessions"] = s.RevokeSessions(ctx, domain.SessionRevocation{SessionID: "s1", At: now, FeedExpires: now})
	_, calls["RevocationsSince"] = s.RevocationsSince(ctx, 0, now, 10)
	_, calls["PruneSessions"] = s.PruneSessions(ctx, now)
	calls["AppendEvents"] = s.AppendEvents(ctx, []domain.Event{{ID: "e1", Time: now, Type: domain.EventLoginFailed}})
	_, calls["ListEvents"] = s.ListEvents(ctx, domain.EventQuery{Limit: 10})
	calls["CreateWebhook"] = s.CreateWebhook(ctx, &domain.Webhook{ID: "w1", URL: "https://example.com", CreatedAt: now}, 10)
	_, calls["ClaimDeliveries"] = s.ClaimDeliveries(ctx, domain.DeliveryClaim{Now: now, Lease: time.Minute, Limit: 10, Token: "t"})
	calls["FinishDelivery"] = s.FinishDelivery(ctx, domain.DeliveryResult{DeliveryID: "d1", Claim: "t", At: now, Status: domain.DeliveryDelivered})
	_, calls["OutboxStats"] = s.OutboxStats(ctx)
	calls["PutPendingTOTP"] = s.PutPendingTOTP(ctx, &domain.TOTP{UserID: "u1", Secret: []byte("x"), CreatedAt: now})
	_, calls["TOTPOf"] = s.TOTPOf(ctx, "u1")
	_, calls["UseTOTPStep"] = s.UseTOTPStep(ctx, "u1", 1)
	_, calls["UseRecoveryCode"] = s.UseRecoveryCode(ctx, "u1", []byte("h"), now, nil)
	_, calls["RecoveryCodesLeft"] = s.RecoveryCodesLeft(ctx, "u1")
	calls["CreateMFAToken"] = s.CreateMFAToken(ctx, &domain.MFAToken{Hash: []byte("m"), UserID: "u1", CreatedAt: now, ExpiresAt: now})
	_, calls["MFATokenByHash"] = s.MFATokenByHash(ctx, []byte("m"))
	_, calls["FailMFAToken"] = s.FailMFAToken(ctx, []byte("m"))
	_, calls["ConsumeMFAToken"] = s.ConsumeMFAToken(ctx, []byte("m"), now)
	_, calls["PruneMFATokens"] = s.PruneMFATokens(ctx, now)
	_, _, calls["ChangeUser(mfa)"] = s.ChangeUser(ctx, domain.UserChange{UserID: "u1", At: now, MFA: &domain.MFAChange{Enable: true}})
	calls["Ping"] = s.Ping(ctx)
	for name, err := range calls {
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Errorf("%s on a closed database = %v; want ErrUnavailable", name, err)
		}
	}
}
