package guard_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGuardBringsNoUseCaseOrStore: a resource server that imports the guard
// (and the JWKS verifier of adapter/token) gets no use case, store, ORM,
// database driver or OTP library with it.
func TestGuardBringsNoUseCaseOrStore(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{".", "../token", "../../examples/resourceserver"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, banned := range []string{"/usecase", "/adapter/storage", "/adapter/rest", "/infrastructure/database", "gorm.io/", "sqlite", "jackc/pgx", "pquerna/otp", "boombuler/barcode"} {
				if strings.Contains(dep, banned) {
					t.Errorf("go list -deps %s includes %s", pkg, dep)
				}
			}
		}
	}
}
