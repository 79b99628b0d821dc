package domain

import "testing"

// TestClaimsCallerKinds: who a caller is follows from its claims alone.
func TestClaimsCallerKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		c         Claims
		keyID     string
		fromLogin bool
	}{
		{"login", Claims{Subject: "u1", SessionID: "s1"}, "", true},
		{"api key", Claims{Subject: "u1", KeyID: "k1"}, "k1", false},
		{"exchanged from a key", Claims{Subject: "u1", SessionID: APIKeyRevocationID("k1")}, "k1", false},
		{"machine client", Claims{Subject: "c1"}, "", false},
		{"no subject", Claims{SessionID: "s1"}, "", false},
	} {
		if got := tc.c.APIKeyID(); got != tc.keyID {
			t.Errorf("%s: APIKeyID() = %q; want %q", tc.name, got, tc.keyID)
		}
		if got := tc.c.FromAPIKey(); got != (tc.keyID != "") {
			t.Errorf("%s: FromAPIKey() = %v", tc.name, got)
		}
		if got := tc.c.FromLogin(); got != tc.fromLogin {
			t.Errorf("%s: FromLogin() = %v; want %v", tc.name, got, tc.fromLogin)
		}
	}
}
