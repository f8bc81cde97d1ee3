package src_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// adapters are the packages whose errors name them (docs/conventions.md).
var adapters = []string{"bus/servicebus", "bus/sqlitebus", "store/sqlite", "store/sqlserver"}

// TestAdapterErrorsNameTheAdapter: an error an adapter makes (errors.New,
// or fmt.Errorf wrapping nothing of its own) starts with the adapter's name
// and a colon, so that an operator reading a log knows which dependency
// failed. Sentinels (package-level errors, matched with errors.Is) are
// exempt: they are always wrapped, with the name, where they are returned.
func TestAdapterErrorsNameTheAdapter(t *testing.T) {
	for _, pkg := range adapters {
		prefix := path.Base(pkg) + ": "
		files, err := filepath.Glob(filepath.Join(pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
					continue // package-level: a sentinel
				}
				ast.Inspect(d, func(n ast.Node) bool {
					if msg, ok := madeError(n); ok && !strings.HasPrefix(msg, prefix) {
						t.Errorf("%s: error %q: want it to start with %q", fset.Position(n.Pos()), msg, prefix)
					}
					return true
				})
			}
		}
	}
}

// madeError returns the message of errors.New("…") or of fmt.Errorf("…")
// whose format wraps nothing.
func madeError(n ast.Node) (string, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok || !(pkg.Name == "errors" && sel.Sel.Name == "New" || pkg.Name == "fmt" && sel.Sel.Name == "Errorf") {
		return "", false
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	msg, err := strconv.Unquote(lit.Value)
	if err != nil || strings.Contains(msg, "%w") {
		return "", false
	}
	return msg, true
}
