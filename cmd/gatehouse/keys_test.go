package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testkit"
)

func TestJWKSAndRotation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	admin := bearerHeader(e.adminToken())
	e.signUp("alice", "correct horse battery")
	before := e.login("alice", "correct horse battery")["access_token"]

	kids := func() []string {
		r := e.do(http.MethodGet, "/.well-known/jwks.json", nil, nil)
		if r.status != 200 || !strings.Contains(r.header.Get("Cache-Control"), "max-age=") {
			t.Fatalf("GET jwks = %d (Cache-Control %q)", r.status, r.header.Get("Cache-Control"))
		}
		var doc struct {
			Keys []struct {
				Kid string `json:"kid"`
				Kty string `json:"kty"`
				Alg string `json:"alg"`
				D   string `json:"d"`
			} `json:"keys"`
		}
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range doc.Keys {
			if k.D != "" {
				t.Fatalf("JWKS publishes a private key component: %s", r.body)
			}
			if k.Kty != "OKP" || k.Alg != "EdDSA" {
				t.Errorf("key %s: kty %s alg %s; want OKP EdDSA", k.Kid, k.Kty, k.Alg)
			}
			out = append(out, k.Kid)
		}
		return out
	}
	if got := kids(); len(got) != 1 {
		t.Fatalf("JWKS before rotation has %d keys; want 1", len(got))
	}
	r := e.do(http.MethodPost, "/admin/keys/rotate", nil, admin)
	if r.status != 200 || r.json(t)["kid"] == "" {
		t.Fatalf("rotate = %d %s", r.status, r.body)
	}
	newKid := r.json(t)["kid"].(string)
	if got := kids(); len(got) != 2 {
		t.Fatalf("JWKS after rotation has %v; want the old and the new key", got)
	}
	if r := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(before)); r.status != 200 {
		t.Errorf("token signed by the retired key = %d; want 200 until it expires", r.status)
	}
	after := e.login("alice", "correct horse battery")["access_token"].(string)
	if !strings.Contains(decodeHeader(t, after), newKid) {
		t.Errorf("new token header %s does not name the new kid %s", decodeHeader(t, after), newKid)
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_ISSUER": "https://auth.example.com/", "GATEHOUSE_USER_SCOPES": "profile reports:read"})
	r := e.do(http.MethodGet, "/.well-known/oauth-authorization-server", nil, nil)
	if r.status != 200 {
		t.Fatalf("metadata = %d", r.status)
	}
	b := r.json(t)
	if b["issuer"] != "https://auth.example.com" || b["token_endpoint"] != "https://auth.example.com/oauth/token" ||
		b["jwks_uri"] != "https://auth.example.com/.well-known/jwks.json" {
		t.Errorf("metadata = %s", r.body)
	}
	// RFC 8414: no empty response_types_supported, registered auth method
	// names only, the user scopes advertised.
	if _, ok := b["response_types_supported"]; ok || strings.Contains(string(r.body), `"bearer"`) ||
		fmt.Sprint(b["scopes_supported"]) != "[profile reports:read]" {
		t.Errorf("metadata = %s; want no response_types_supported, no bearer method, scopes_supported [profile reports:read]", r.body)
	}
	// The password, refresh and MFA grants need no client authentication:
	// "none" is a method of the token endpoint (not of introspection).
	if fmt.Sprint(b["token_endpoint_auth_methods_supported"]) != "[client_secret_basic client_secret_post none]" ||
		fmt.Sprint(b["introspection_endpoint_auth_methods_supported"]) != "[client_secret_basic client_secret_post]" {
		t.Errorf("metadata = %s; want token endpoint methods with none, introspection without", r.body)
	}
}

// TestMetadataDefaults: with the default configuration (no user scopes)
// scopes_supported is still there, an empty list, not left out.
func TestMetadataDefaults(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	r := e.do(http.MethodGet, "/.well-known/oauth-authorization-server", nil, nil)
	scopes, ok := r.json(t)["scopes_supported"].([]any)
	if r.status != 200 || !ok || len(scopes) != 0 {
		t.Errorf("metadata = %d %s; want scopes_supported [] ", r.status, r.body)
	}
}

func TestKeysEncryptedAtRest(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": "an operator key of at least 32 bytes!"})
	e.signUp("alice", "correct horse battery")
	tok := e.login("alice", "correct horse battery")["access_token"]
	if r := e.do(http.MethodGet, "/protected_resource", nil, bearerHeader(tok)); r.status != 200 {
		t.Fatalf("token from an encrypted key = %d", r.status)
	}
	keys, err := e.app.store.ListKeys(t.Context())
	if err != nil || len(keys) == 0 {
		t.Fatalf("ListKeys = %v, %v", keys, err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(string(k.Private), "gatehouse-sealed-v1:") {
			t.Errorf("key %s is stored in the clear", k.ID)
		}
	}
	// The same database without the key refuses to start.
	cfg := e.app.cfg
	cfg.KeyEncryptionKey = nil
	if _, err := build(t.Context(), cfg, &testkit.LogBuffer{}, buildOptions{hash: testParams}); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_KEY_ENCRYPTION_KEY") {
		t.Errorf("build without the key = %v; want an error naming GATEHOUSE_KEY_ENCRYPTION_KEY", err)
	}
}
