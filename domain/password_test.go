package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
)

func TestCheckPasswordSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		password string
		tooLong  bool
	}{
		{"empty", "", false},
		{"at the maximum", strings.Repeat("x", domain.PasswordMaxBytes), false},
		{"one byte over", strings.Repeat("x", domain.PasswordMaxBytes+1), true},
		{"multi-byte over", strings.Repeat("é", domain.PasswordMaxBytes/2+1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := domain.CheckPasswordSize(tt.password)
			var ve *domain.ValidationError
			if got := errors.As(err, &ve) && ve.Code == "weak_password"; got != tt.tooLong || (err != nil) != tt.tooLong {
				t.Errorf("CheckPasswordSize(%s) = %v; want too long %v", tt.name, err, tt.tooLong)
			}
			// The password rule answers a long password the same way.
			if tt.tooLong {
				if v := domain.ValidatePassword(tt.password, "alice", 8); v == nil || v.Error() != err.Error() {
					t.Errorf("ValidatePassword(%s) = %v; want %v", tt.name, v, err)
				}
			}
		})
	}
}
