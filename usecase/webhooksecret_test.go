package usecase

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapter/token"
	"github.com/gatehouse-auth/gatehouse/domain"
)

// TestWebhookSecretSealedAtRest: under a key-encryption key the store keeps
// the secret sealed; the dispatcher opens it for signing; a box of another
// key sends nothing and the attempt is retried.
func TestWebhookSecretSealedAtRest(t *testing.T) {
	t.Parallel()
	box, err := token.NewSecretBox([]byte("an operator key of at least 32 bytes!"))
	if err != nil {
		t.Fatal(err)
	}
	store := newHookStore()
	hook, err := NewWebhooks(store, &hookDest{}, box, hookNow).Create(t.Context(), WebhookInput{URL: "https://hooks.example.com/h"})
	if err != nil {
		t.Fatal(err)
	}
	stored := store.hooks[0].Secret
	key := strings.TrimPrefix(hook.Secret, domain.WebhookSecretPrefix)
	if !strings.HasPrefix(hook.Secret, domain.WebhookSecretPrefix) || stored == hook.Secret || strings.Contains(stored, key) {
		t.Fatalf("stored secret %q, shown %q; want the shown whsec_ secret stored sealed", stored, hook.Secret)
	}

	deliver := func(b domain.SecretBox) (sent []string, outcome domain.DeliveryStatus) {
		out := newHookOutbox()
		out.add("a", hookNow())
		out.mu.Lock()
		out.rows["a"].job.Secret, out.rows["a"].job.Delivery.WebhookID = stored, hook.ID
		out.mu.Unlock()
		sender := &hookSender{reply: func(job domain.DeliveryJob, _ int) (int, error) {
			sent = append(sent, job.Secret)
			return 200, nil
		}}
		d := NewDispatcher(out, sender, b, func() time.Time { return hookNow() }, nil, nil, nil)
		if _, err := d.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		return sent, out.row("a").Status
	}
	if sent, status := deliver(box); len(sent) != 1 || sent[0] != hook.Secret || status != domain.DeliveryDelivered {
		t.Errorf("with the key: sender got %q, status %s; want the shown secret, delivered", sent, status)
	}
	other, _ := token.NewSecretBox([]byte("another operator key, also 32 bytes+"))
	if sent, status := deliver(other); len(sent) != 0 || status != domain.DeliveryPending {
		t.Errorf("with another key: sender got %q, status %s; want nothing sent, pending for a retry", sent, status)
	}
}
