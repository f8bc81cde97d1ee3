// Package src_test checks the shape of the code base itself.
package src_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/dropoff-dev/dropoff/src/"

// allowed lists, for each package, the Dropoff packages it may import. The
// arrows point inwards: domain ← ports ← consumers; adapters implement ports
// and never import each other; only cmd/dropoff sees everything.
var allowed = map[string][]string{
	"shipment":         {},
	"backoff":          {},
	"defaults":         {},
	"auth":             {},
	"auth/authtest":    {"auth"},
	"operation":        {"shipment"},
	"bus":              {},
	"store":            {"shipment", "operation"},
	"command":          {"shipment", "operation", "bus"},
	"bus/bustest":      {"bus"},
	"bus/sqlitebus":    {"bus", "groupcommit", "defaults"},
	"bus/servicebus":   {"bus", "defaults"},
	"store/storetest":  {"store", "shipment", "operation", "command"},
	"store/sqlite":     {"store", "shipment", "operation", "groupcommit", "defaults"},
	"store/sqlserver":  {"store", "shipment", "operation", "defaults"},
	"worker":           {"backoff", "bus", "store", "command", "shipment", "operation", "defaults"},
	"projector":        {"backoff", "store", "defaults"},
	"httpapi":          {"bus", "store", "command", "shipment", "operation", "defaults", "auth", "live"},
	"httpapi/apitest":  {}, // and docs (docs/openapi.yaml), which is outside src/
	"live":             {"bus", "store", "command", "shipment", "operation", "defaults", "backoff"},
	"load":             {"shipment", "command", "backoff"},
	"retention":        {"defaults"},
	"groupcommit":      {}, // imported by the two SQLite adapters only
	"internal/cputime": {}, // cmd/dropoff and the benchmarks
	"telemetry":        {}, // imported by cmd/dropoff only; the roles take OpenTelemetry's own interfaces
	"simulate":         {"bus", "store"},
	"baseline":         {"worker", "httpapi", "store", "command", "operation"},
}

// domain packages hold plain values any test may build.
var domain = []string{"shipment", "operation", "command"}

// TestImportDirection fails when a package imports one it should not.
func TestImportDirection(t *testing.T) {
	pkgs := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." || strings.HasPrefix(pkg, "cmd/") || strings.Contains(pkg, "testdata") {
			return nil
		}
		pkgs[pkg] = true
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		want, known := allowed[pkg]
		if !known {
			t.Errorf("package %s is not in the import map of this test; add it with the imports it may have", pkg)
			return nil
		}
		isTest := strings.HasSuffix(path, "_test.go")
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			dep, ours := strings.CutPrefix(p, module)
			if !ours || dep == pkg {
				continue
			}
			if isTest && (strings.HasSuffix(dep, "test") || dep == "bus/sqlitebus" || dep == "store/sqlite" || dep == "simulate" || dep == "internal/cputime" || contains(domain, dep)) {
				continue // tests may run a suite, use the embedded adapters and their simulated latency, measure CPU, or build domain values
			}
			if !contains(want, dep) {
				t.Errorf("%s imports %s: an arrow pointing the wrong way", path, dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages; is the test running from src/?", len(pkgs))
	}
}

// TestDomainUsesOnlyTheStandardLibrary keeps the shipment domain free of any
// outside import.
func TestDomainUsesOnlyTheStandardLibrary(t *testing.T) {
	files, err := filepath.Glob("shipment/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no domain files found: %v", err)
	}
	for _, path := range files {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
				t.Errorf("%s imports %s; the domain imports only the standard library", path, p)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
