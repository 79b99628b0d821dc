package usecase

import (
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/domain"
)

// TestRequestedLimit: a limit left out is the default page; every written
// value reaches pageLimit, which alone refuses the bad ones, with one
// message naming the list's bounds.
func TestRequestedLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int // from pageLimit(RequestedLimit(in), 100, 500); 0: refused
	}{
		{"", 100}, {"1", 1}, {"500", 500},
		{"0", 0}, {"-1", 0}, {"501", 0}, {"ten", 0}, {"1.5", 0}, {"99999999999999999999", 0},
	} {
		got, err := pageLimit(RequestedLimit(tt.in), 100, 500)
		var ve *domain.ValidationError
		refused := errors.As(err, &ve) && ve.Code == domain.CodeInvalidRequest && ve.Message == "limit must be between 1 and 500"
		if tt.want == 0 && !refused || tt.want != 0 && (err != nil || got != tt.want) {
			t.Errorf("pageLimit(RequestedLimit(%q)) = %d, %v; want %d (0: refused)", tt.in, got, err, tt.want)
		}
	}
}
