// Package api holds Gatehouse's OpenAPI 3 description of its HTTP API
// (DESIGN.md "HTTP API"), embedded in the binary so GET /openapi.yaml
// serves exactly the document the tests validate real responses against.
package api

import (
	"bytes"
	_ "embed"
)

//go:embed openapi.yaml
var spec []byte

// Spec returns the OpenAPI document as YAML. Each call returns a fresh
// copy, so a caller that modifies it cannot change what others see.
func Spec() []byte { return bytes.Clone(spec) }
