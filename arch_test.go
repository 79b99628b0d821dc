package gatehouse_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-auth/gatehouse"

// layer is a ring of STYLE.md §1's dependency table.
type layer string

const (
	domainLayer  layer = "domain"         // entities, errors, ports
	usecaseLayer layer = "usecase"        // one type per capability
	adapterLayer layer = "adapter"        // implements a port on one library
	infraLayer   layer = "infrastructure" // plumbing main calls once
	mainLayer    layer = "main"           // cmd/*: composition roots
	exampleLayer layer = "example"        // a service outside Gatehouse using its public packages
	testLayer    layer = "test support"   // ordinary packages imported only by tests
	assetLayer   layer = "asset"          // embedded files
	rootLayer    layer = "root"           // the module root: this test only
)

// may returns the layers whose packages a package of l may depend on, and
// whether it may import any module outside the standard library. What a
// single package adds to that is on its line in classes.
func (l layer) may() (layers []layer, anyModule bool) {
	switch l {
	case usecaseLayer, adapterLayer, infraLayer, exampleLayer:
		return []layer{domainLayer}, false
	case testLayer:
		return []layer{domainLayer, testLayer}, false
	case mainLayer:
		return []layer{domainLayer, usecaseLayer, adapterLayer, infraLayer, assetLayer}, true
	}
	return nil, false // domain, asset, root: the standard library only
}

// class puts one package of the module in a layer.
type class struct {
	pkg   string // path below the module; "" is the module root
	layer layer
	// also is what the package may import beyond its layer: our packages by
	// path below the module ("usecase"), other modules by module path
	// ("gorm.io/gorm"), or single packages of a module by import path.
	// Nothing may be added to domain or usecase: they depend on the
	// standard library and domain only.
	also []string
}

// tracingAPI are the OpenTelemetry API packages an adapter imports to open
// spans (DESIGN.md "Tracing"): the API only, never the SDK or an exporter,
// which main wires. The use cases open theirs through usecase.Tracer.
var tracingAPI = []string{
	"go.opentelemetry.io/otel",
	"go.opentelemetry.io/otel/trace",
	"go.opentelemetry.io/otel/attribute",
	"go.opentelemetry.io/otel/codes",
}

// otelhttp is the OpenTelemetry net/http instrumentation module.
const otelhttp = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

// classes classifies every package of the module, one line each. A package
// that is missing, or a line whose package is gone, fails
// TestDependencyRule with the line to add or remove.
func classes() []class {
	return []class{
		{"", rootLayer, nil},
		{"domain", domainLayer, nil},
		{"usecase", usecaseLayer, nil},
		{"adapter/rest", adapterLayer, []string{"usecase", "adapter/guard", "adapter/internal/problem", "adapter/internal/remote", "github.com/labstack/echo/v4", "github.com/labstack/echo-jwt/v4", "go.opentelemetry.io/otel", "go.opentelemetry.io/otel/trace"}},
		{"adapter/guard", adapterLayer, []string{"adapter/internal/problem", "adapter/internal/remote", "github.com/labstack/echo/v4", "github.com/prometheus/client_golang"}},
		{"adapter/internal/problem", adapterLayer, []string{"github.com/labstack/echo/v4"}},
		{"adapter/internal/remote", adapterLayer, []string{otelhttp}},
		{"adapter/password", adapterLayer, append([]string{"golang.org/x/crypto"}, tracingAPI...)},
		{"adapter/storage/gormstore", adapterLayer, []string{"gorm.io/gorm", "go.opentelemetry.io/otel", "go.opentelemetry.io/otel/trace"}},
		{"adapter/storage/memory", adapterLayer, nil},
		{"adapter/storage/storagetest", testLayer, []string{"github.com/google/go-cmp"}},
		{"adapter/webhook", adapterLayer, []string{otelhttp, "go.opentelemetry.io/otel", "go.opentelemetry.io/otel/trace"}}, // implements usecase.WebhookSender and usecase.DestinationChecker
		{"adapter/token", adapterLayer, []string{"adapter/internal/remote", "github.com/golang-jwt/jwt/v5", "github.com/MicahParks/jwkset"}},
		{"adapter/mfa", adapterLayer, []string{"github.com/pquerna/otp"}}, // implements usecase.TOTPCodes
		{"api", assetLayer, nil},
		{"cmd/gatehouse", mainLayer, nil},
		{"cmd/gatehouse-load", mainLayer, nil},
		{"examples/resourceserver", exampleLayer, []string{"adapter/guard", "adapter/internal/problem", "adapter/internal/remote", "adapter/token", "infrastructure/server", "github.com/labstack/echo/v4", "github.com/prometheus/client_golang"}},
		{"infrastructure/config", infraLayer, []string{"github.com/alecthomas/kong"}},
		{"infrastructure/database", infraLayer, []string{"gorm.io/gorm", "gorm.io/driver/postgres", "gorm.io/driver/sqlite", "github.com/pressly/goose/v3"}},
		{"infrastructure/database/dbtest", testLayer, []string{"infrastructure/database", "gorm.io/gorm", "github.com/jackc/pgx/v5"}},
		{"infrastructure/logging", infraLayer, nil},
		{"infrastructure/tracing", infraLayer, []string{"go.opentelemetry.io/otel", "go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/trace", "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"}},
		{"adapter/metrics", adapterLayer, []string{"usecase", "github.com/prometheus/client_golang"}}, // implements usecase.Metrics and usecase.DeliveryMetrics
		{"adapter/spans", adapterLayer, append([]string{"usecase"}, tracingAPI...)},                   // implements usecase.Tracer
		{"infrastructure/server", infraLayer, nil},
		{"internal/testkit", testLayer, nil},
		{"internal/testkit/spantest", testLayer, []string{"go.opentelemetry.io/otel", "go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/trace"}},
		{"internal/testkit/otlptest", testLayer, []string{"go.opentelemetry.io/proto/otlp", "google.golang.org/protobuf"}},
	}
}

// goPackage is the part of `go list -json` the test reads.
type goPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
}

// TestDependencyRule enforces STYLE.md §1 as an allowlist. Every package of
// the module is classified in classes. A package may depend on the standard
// library, on our packages of the layers its layer may import and on those
// its line adds; dependencies count transitively, so a package cannot reach
// through another what it may not import itself. It may import modules
// outside the standard library only as its line (or, for main, its layer)
// allows; what those modules import in turn is their business. Test files
// are not checked: use-case tests may use the memory store.
func TestDependencyRule(t *testing.T) {
	t.Parallel()
	pkgs := goList(t)
	ours := map[string]*goPackage{}
	for _, p := range pkgs {
		if rel, ok := relative(p.ImportPath); ok {
			ours[rel] = p
		}
	}

	byPkg := map[string]class{}
	for _, c := range classes() {
		if _, dup := byPkg[c.pkg]; dup {
			t.Errorf("classes lists %q twice; keep one line", c.pkg)
		}
		byPkg[c.pkg] = c
		if _, ok := ours[c.pkg]; !ok {
			t.Errorf("classes lists %q, which is not a package of the module; remove its line", c.pkg)
		}
		if c.layer == domainLayer && len(c.also) > 0 {
			t.Errorf("classes adds %q to %s; STYLE.md §1: domain imports the standard library only", c.also, c.pkg)
		}
		if c.layer == usecaseLayer && len(c.also) > 0 {
			t.Errorf("classes adds %q to %s; STYLE.md §1: usecase imports only domain and the standard library (spans go through usecase.Tracer)", c.also, c.pkg)
		}
	}

	for _, rel := range slices.Sorted(maps.Keys(ours)) {
		p := ours[rel]
		c, ok := byPkg[rel]
		if !ok {
			t.Errorf("package %s is not classified; add its line to classes in arch_test.go:\n\t%s",
				display(rel), suggest(rel, p, pkgs, byPkg))
			continue
		}
		layers, anyModule := c.layer.may()
		for _, dep := range p.Deps {
			d, isOurs := relative(dep)
			if !isOurs || d == rel {
				continue
			}
			dc, known := byPkg[d]
			if !known || slices.Contains(layers, dc.layer) || slices.Contains(c.also, d) {
				continue // an unclassified dependency is reported on its own
			}
			t.Errorf("%s (%s layer) depends on %s (%s layer) through %s; the %s layer may depend on %q and its line adds %q",
				display(rel), c.layer, display(d), dc.layer, strings.Join(importChain(rel, d, ours), " -> "), c.layer, layers, c.also)
		}
		if anyModule {
			continue
		}
		for _, imp := range p.Imports {
			dp := listed(pkgs, imp)
			if _, ours := relative(imp); ours || dp.Standard {
				continue
			}
			mod := moduleOf(dp)
			if !slices.Contains(c.also, imp) && !slices.Contains(c.also, mod) {
				t.Errorf("%s (%s layer) imports %s of module %s; its line in classes allows the modules %q",
					display(rel), c.layer, imp, mod, modules(c.also))
			}
		}
	}
}

// goList runs `go list -deps -json ./...` and returns every package it
// names, ours and their dependencies, by import path.
func goList(t *testing.T) map[string]*goPackage {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-json=ImportPath,Standard,Imports,Deps,Module", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -json ./...: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*goPackage{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p goPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs[p.ImportPath] = &p
	}
	return pkgs
}

// listed returns the package go list reported for an import path. "C"
// (cgo) is not among them, nor standard: it needs a line like a module.
func listed(pkgs map[string]*goPackage, path string) *goPackage {
	if p, ok := pkgs[path]; ok {
		return p
	}
	return &goPackage{ImportPath: path}
}

// relative returns path below the module, and whether path is ours.
func relative(path string) (string, bool) {
	if path == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// display names a package in messages; the root has no relative path.
func display(rel string) string {
	if rel == "" {
		return "the module root"
	}
	return rel
}

func moduleOf(p *goPackage) string {
	if p.Module == nil {
		return p.ImportPath
	}
	return p.Module.Path
}

// modules returns the module paths among a line's additions.
func modules(also []string) []string {
	var out []string
	for _, a := range also {
		if first, _, _ := strings.Cut(a, "/"); strings.Contains(first, ".") {
			out = append(out, a)
		}
	}
	return out
}

// importChain returns the shortest chain of imports among our packages
// that leads from one package to another.
func importChain(from, to string, ours map[string]*goPackage) []string {
	prev := map[string]string{from: from}
	for queue := []string{from}; len(queue) > 0; queue = queue[1:] {
		cur := queue[0]
		if cur == to {
			var chain []string
			for ; cur != from; cur = prev[cur] {
				chain = append(chain, display(cur))
			}
			chain = append(chain, display(from))
			slices.Reverse(chain)
			return chain
		}
		for _, imp := range ours[cur].Imports {
			if next, ok := relative(imp); ok {
				if _, seen := prev[next]; !seen {
					prev[next] = cur
					queue = append(queue, next)
				}
			}
		}
	}
	return []string{display(from), "…", display(to)}
}

// suggest writes the classes line for an unclassified package: its layer
// guessed from the directory (test support if it imports testing), and what
// it imports beyond that layer. The
// message says which of those additions are our packages, so a reviewer
// sees them against STYLE.md §1 before accepting the line.
func suggest(rel string, p *goPackage, pkgs map[string]*goPackage, byPkg map[string]class) string {
	top, _, _ := strings.Cut(rel, "/")
	l, ok := map[string]layer{
		"domain": domainLayer, "usecase": usecaseLayer, "adapter": adapterLayer,
		"infrastructure": infraLayer, "cmd": mainLayer, "examples": exampleLayer,
	}[top]
	if slices.Contains(p.Imports, "testing") {
		l, ok = testLayer, true
	}
	layerName := map[layer]string{
		domainLayer: "domainLayer", usecaseLayer: "usecaseLayer", adapterLayer: "adapterLayer", infraLayer: "infraLayer",
		mainLayer: "mainLayer", exampleLayer: "exampleLayer", testLayer: "testLayer",
	}[l]
	if !ok {
		layerName = "<domainLayer|usecaseLayer|adapterLayer|infraLayer|mainLayer|exampleLayer|testLayer|assetLayer>"
	}
	layers, anyModule := l.may()
	var also, oursAdded []string
	for _, dep := range p.Deps {
		d, isOurs := relative(dep)
		if !isOurs || d == rel {
			continue
		}
		if dc, known := byPkg[d]; known && !slices.Contains(layers, dc.layer) && !anyModule {
			also = append(also, d)
			oursAdded = append(oursAdded, d)
		}
	}
	if !anyModule {
		for _, imp := range p.Imports {
			dp := listed(pkgs, imp)
			if _, ours := relative(imp); ours || dp.Standard {
				continue
			}
			if mod := moduleOf(dp); !slices.Contains(also, mod) {
				also = append(also, mod)
			}
		}
	}
	line := fmt.Sprintf("{%q, %s, nil},", rel, layerName)
	if len(also) > 0 {
		line = fmt.Sprintf("{%q, %s, %#v},", rel, layerName, also)
	}
	if len(oursAdded) > 0 {
		line += fmt.Sprintf("\n\t(it depends on %q beyond the %s layer's rule: keep that only if STYLE.md §1 allows it)", oursAdded, l)
	}
	return line
}
