package usecase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// fakeKeys is a KeyManager that hands out numbered kids of alg, retiring
// the active key like a store does.
type fakeKeys struct {
	alg     string
	keys    []domain.SigningKey
	err     error
	rotates int
	// events are the events committed with the rotations, filled in like
	// the Keyring does.
	events []domain.Event
}

func (f *fakeKeys) Rotate(_ context.Context, ev domain.Event) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	f.rotates++
	kid := "k" + string(rune('0'+len(f.keys)))
	if ev.Type != "" {
		ev.Details.Kid, ev.Details.Alg = kid, f.alg
		f.events = append(f.events, ev)
	}
	for i := range f.keys {
		if f.keys[i].Active() {
			f.keys[i].RetiredAt = epoch
		}
	}
	f.keys = append([]domain.SigningKey{{ID: kid, Algorithm: f.alg}}, f.keys...)
	return kid, nil
}

func (f *fakeKeys) Keys(context.Context) ([]domain.SigningKey, error) { return f.keys, f.err }

// logLines decodes a JSON log.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestKeys(t *testing.T) {
	t.Parallel()
	m := &fakeKeys{alg: "EdDSA"}
	k := NewKeys(m, "EdDSA", newClock().Now, nil, nil)
	for _, want := range []string{"k0", "k1"} {
		kid, err := k.Rotate(t.Context())
		if err != nil || kid != want {
			t.Fatalf("Rotate() = %q, %v; want %q, nil", kid, err, want)
		}
	}
	keys, err := k.List(t.Context())
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" {
		t.Fatalf("List() = %+v, %v; want [k1 k0]", keys, err)
	}
	m.err = errOutage
	if _, err := k.Rotate(t.Context()); !errors.Is(err, errOutage) {
		t.Errorf("Rotate() with a failing manager = %v; want the wrapped failure", err)
	}
}

// TestKeysRotationPolicy: a rotation keeps the active key's algorithm
// unless the switch is explicit, and every rotation is logged with kid,
// algorithm and who asked (a switch as a warning).
func TestKeysRotationPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		active    string // algorithm of the active key; "" for an empty store
		rotation  KeyRotation
		wantErr   bool
		wantLevel string
	}{
		{"first key", "", KeyRotation{By: "cli"}, false, "INFO"},
		{"same algorithm", "ES256", KeyRotation{By: "admin"}, false, "INFO"},
		{"same algorithm, explicit", "ES256", KeyRotation{By: "cli", Switch: true}, false, "INFO"},
		{"other algorithm", "EdDSA", KeyRotation{By: "admin"}, true, ""},
		{"other algorithm, cli without --alg", "EdDSA", KeyRotation{By: "cli"}, true, ""},
		{"other algorithm, explicit", "EdDSA", KeyRotation{By: "cli", Switch: true}, false, "WARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &fakeKeys{alg: "ES256"}
			if tc.active != "" {
				m.keys = []domain.SigningKey{{ID: "old", Algorithm: tc.active}}
			}
			var buf bytes.Buffer
			k := NewKeys(m, "ES256", newClock().Now, slog.New(slog.NewJSONHandler(&buf, nil)), nil)
			kid, err := k.RotateAs(t.Context(), tc.rotation)
			var ve *domain.ValidationError
			if tc.wantErr {
				if !errors.As(err, &ve) || !strings.Contains(ve.Message, "--alg ES256") || m.rotates != 0 || buf.Len() != 0 {
					t.Fatalf("RotateAs(%+v) over %s = %q, %v (%d rotations, log %q); want a refusal naming --alg ES256, nothing rotated or logged", tc.rotation, tc.active, kid, err, m.rotates, buf.String())
				}
				return
			}
			if err != nil || m.rotates != 1 {
				t.Fatalf("RotateAs(%+v) = %q, %v (%d rotations); want one rotation", tc.rotation, kid, err, m.rotates)
			}
			lines := logLines(t, &buf)
			if len(lines) != 1 {
				t.Fatalf("log = %v; want one line", lines)
			}
			l := lines[0]
			if l["level"] != tc.wantLevel || l["kid"] != kid || l["alg"] != "ES256" || l["by"] != tc.rotation.By {
				t.Errorf("log = %v; want level %s, kid %s, alg ES256, by %s", l, tc.wantLevel, kid, tc.rotation.By)
			}
			if tc.active != "" && (l["previous_kid"] != "old" || l["previous_alg"] != tc.active) {
				t.Errorf("log = %v; want previous_kid old, previous_alg %s", l, tc.active)
			}
		})
	}
}
