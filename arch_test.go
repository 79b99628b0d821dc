package gatehouse_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-auth/gatehouse"

// TestDependencyRule enforces STYLE.md's arrows: domain imports nothing of
// ours and no framework; usecase imports only domain; adapters and
// infrastructure never import each other, usecase-free infrastructure stays
// plumbing. It reads `go list -deps`, so indirect imports count too.
func TestDependencyRule(t *testing.T) {
	t.Parallel()
	frameworks := []string{"github.com/labstack/", "gorm.io/", "github.com/golang-jwt/", "golang.org/x/crypto", "github.com/prometheus/"}
	tests := []struct {
		pkg     string
		allowed []string // our packages it may depend on
		noFrame bool
	}{
		{pkg: "domain", noFrame: true},
		{pkg: "usecase", allowed: []string{"domain"}, noFrame: true},
		{pkg: "adapter/rest", allowed: []string{"domain", "usecase", "adapter/guard", "adapter/internal/problem"}},
		{pkg: "adapter/guard", allowed: []string{"domain", "adapter/internal/problem"}},
		{pkg: "adapter/internal/problem", allowed: []string{"domain"}},
		{pkg: "adapter/token", allowed: []string{"domain"}},
		{pkg: "adapter/password", allowed: []string{"domain"}},
		{pkg: "adapter/storage/memory", allowed: []string{"domain"}},
		{pkg: "adapter/storage/gormstore", allowed: []string{"domain"}},
		{pkg: "adapter/storage/storagetest", allowed: []string{"domain"}},
		{pkg: "infrastructure/config"},
		{pkg: "infrastructure/database"},
		{pkg: "infrastructure/logging"},
		{pkg: "infrastructure/server"},
		{pkg: "infrastructure/metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", "./"+tt.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps ./%s: %v\n%s", tt.pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				if rel, ours := strings.CutPrefix(dep, module+"/"); ours && rel != tt.pkg {
					if !allowedDep(rel, tt.allowed) {
						t.Errorf("%s imports %s; allowed: %v", tt.pkg, rel, tt.allowed)
					}
				}
				if tt.noFrame {
					for _, f := range frameworks {
						if strings.HasPrefix(dep, f) {
							t.Errorf("%s imports framework package %s", tt.pkg, dep)
						}
					}
				}
			}
		})
	}
}

func allowedDep(rel string, allowed []string) bool {
	for _, a := range allowed {
		if rel == a {
			return true
		}
	}
	return false
}
