package api_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gatehouse-auth/gatehouse/api"
)

func TestSpecIsValidOpenAPI(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q; want 3.0.3", doc.OpenAPI)
	}
}

func TestSpecReturnsACopy(t *testing.T) {
	t.Parallel()
	a := api.Spec()
	if !bytes.HasPrefix(a, []byte("openapi: ")) {
		t.Fatalf("Spec() starts with %q; want the YAML document", a[:min(len(a), 20)])
	}
	a[0] = 'X'
	if b := api.Spec(); b[0] != 'o' {
		t.Errorf("modifying one Spec() result changed the next one: starts with %q", b[:1])
	}
}
