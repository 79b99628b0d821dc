package usecase_test

import (
	"github.com/gatehouse-auth/gatehouse/adapter/spans"
	"github.com/gatehouse-auth/gatehouse/usecase"
)

// The use cases under test trace through the OpenTelemetry adapter on the
// global provider, as the server's do (usecase.Traced says why it is set
// from here).
func init() { usecase.Traced = spans.New(nil) }
