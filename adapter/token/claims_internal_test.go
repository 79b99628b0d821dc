package token

import (
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestNumericDateMatchesGolangJWT: the hand-parsed dates decode exactly as
// golang-jwt's own NumericDate does, for every shape of JSON number, and
// quoted numbers stay refused.
func TestNumericDateMatchesGolangJWT(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"0", "1700000000", "1700000000.75", "-1", "-12.5", "1.7e9", "1.7E+9", "9999999999", "1e-3", "17000000001234"} {
		var ours numericDate
		var theirs jwt.NumericDate
		if err := theirs.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatalf("golang-jwt refused %s: %v", in, err)
		}
		if err := ours.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !ours.Time.Equal(theirs.Time) {
			t.Errorf("%s decoded to %v; golang-jwt gives %v", in, ours.Time, theirs.Time)
		}
	}
	for _, in := range []string{`"1700000000"`, "true", "", "[1]"} {
		var d numericDate
		if err := d.UnmarshalJSON([]byte(in)); !errors.Is(err, errDateType) {
			t.Errorf("%q: err = %v; want %v", in, err, errDateType)
		}
	}
}
