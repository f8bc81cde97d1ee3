package deploy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dropoff-dev/dropoff/tests/bicep"
)

// The Bicep tests read the templates through their parse trees (package
// tests/bicep, the tree-sitter grammar). Without cgo they skip, saying why.

// templates are the parsed files under bicep/, by path relative to it
// ("main.bicep", "modules/app.bicep").
type templates map[string]*bicep.File

func loadTemplates(t *testing.T) templates {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "bicep")
	ts := templates{}
	for _, f := range bicep.Load(t, dir) {
		rel, err := filepath.Rel(dir, f.Path)
		if err != nil {
			t.Fatal(err)
		}
		ts[filepath.ToSlash(rel)] = f
	}
	return ts
}

func (ts templates) file(t *testing.T, rel string) *bicep.File {
	t.Helper()
	f, ok := ts[rel]
	if !ok {
		t.Fatalf("bicep/%s: no such template", rel)
	}
	return f
}

// calls lists the module declarations of resources.bicep that deploy the
// module at rel ("modules/app.bicep").
func (ts templates) calls(t *testing.T, rel string) []*bicep.Module {
	t.Helper()
	var out []*bicep.Module
	for _, m := range ts.file(t, "resources.bicep").Modules {
		if strings.TrimPrefix(m.Path, "./") == rel {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		t.Fatalf("resources.bicep deploys no %s", rel)
	}
	return out
}

// The identities module names its outputs <role><What>; a role's rights are
// found by following these references.
var identityRoles = []string{"commandApi", "worker", "projector", "queryApi", "scaler", "dbinit"}

// identityRef reads identities.outputs.<role><what> ("worker", "PrincipalId").
func identityRef(v bicep.Value) (role, what string, ok bool) {
	e, isExpr := v.(*bicep.Expr)
	if !isExpr {
		return "", "", false
	}
	root, path, isRef := e.Ref()
	if !isRef || root != "identities" || len(path) != 2 || path[0] != "outputs" {
		return "", "", false
	}
	return identityOutput(path[1])
}

// identityOutput splits an output name of the identities module:
// workerPrincipalId is ("worker", "PrincipalId").
func identityOutput(name string) (role, what string, ok bool) {
	for _, r := range identityRoles {
		if rest, found := strings.CutPrefix(name, r); found && rest != "" {
			return r, rest, true
		}
	}
	return "", "", false
}

// str is v as a literal string, or "" with ok false.
func str(v bicep.Value) (string, bool) {
	s, ok := v.(bicep.String)
	return string(s), ok
}

// get reads a dotted path of an object value.
func get(v bicep.Value, path string) bicep.Value {
	o, ok := v.(*bicep.Object)
	if !ok {
		return nil
	}
	got, _ := o.Get(path)
	return got
}

// envOf turns a resolved env array into name → value.
func envOf(t *testing.T, where string, v bicep.Value) map[string]bicep.Value {
	t.Helper()
	arr, ok := v.(*bicep.Array)
	if !ok {
		t.Fatalf("%s: env is %#v, want an array the test can read (literals, variables, concat)", where, v)
	}
	env := map[string]bicep.Value{}
	for _, it := range arr.Items {
		name, ok := str(get(it, "name"))
		if !ok {
			t.Fatalf("%s: env entry %#v has no literal name", where, it)
		}
		if _, dup := env[name]; dup {
			t.Errorf("%s: %s is set twice", where, name)
		}
		if get(it, "secretRef") != nil {
			t.Errorf("%s: %s comes from a secret; Dropoff's deployment has none", where, name)
		}
		env[name] = get(it, "value")
	}
	return env
}
