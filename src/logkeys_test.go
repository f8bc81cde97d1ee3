package src_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// logKey is the one spelling of a log attribute's key: snake_case, and the
// error is "error" (docs/conventions.md).
var logKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// firstKey is where the key/value pairs start, per logging method.
var firstKey = map[string]int{"Debug": 1, "Info": 1, "Warn": 1, "Error": 1, "Log": 3, "With": 0}

// TestLogKeys reads every logging call of the non-test code and checks the
// keys it spells out.
func TestLogKeys(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			for _, key := range logKeys(call) {
				if !logKey.MatchString(key) || key == "err" {
					t.Errorf("%s: log key %q: want snake_case, and \"error\" for an error", fset.Position(call.Pos()), key)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// logKeys returns the literal keys of call when it is a call of a logger's
// method (a receiver named log, logger or Logger, or ending so) or of
// slog.String and its kin.
func logKeys(call *ast.CallExpr) []string {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	if id, ok := sel.X.(*ast.Ident); ok && id.Name == "slog" {
		switch sel.Sel.Name {
		case "String", "Int", "Int64", "Bool", "Duration", "Time", "Any", "Float64", "Group":
			return literals(call.Args[:1])
		}
	}
	start, ok := firstKey[sel.Sel.Name]
	if !ok || !isLogger(sel.X) || len(call.Args) <= start {
		return nil
	}
	var keys []ast.Expr
	for i := start; i < len(call.Args); i += 2 {
		keys = append(keys, call.Args[i])
	}
	return literals(keys)
}

func isLogger(x ast.Expr) bool {
	var name string
	switch e := x.(type) {
	case *ast.Ident:
		name = e.Name
	case *ast.SelectorExpr:
		name = e.Sel.Name
	default:
		return false
	}
	name = strings.ToLower(name)
	return name == "log" || name == "l" || strings.HasSuffix(name, "log") || strings.HasSuffix(name, "logger")
}

func literals(exprs []ast.Expr) []string {
	var out []string
	for _, e := range exprs {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				out = append(out, s)
			}
		}
	}
	return out
}
