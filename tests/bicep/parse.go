package bicep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoCgo is what Parse, ParseFile and ParseDir return in a build without
// cgo, before reading anything.
var ErrNoCgo = errors.New("parsing Bicep needs cgo: the tree-sitter Bicep grammar is C; build with CGO_ENABLED=1 and a C compiler")

// Parse parses src, naming it path in positions and errors. When the source
// has syntax errors, Parse returns the File it could read (tree-sitter
// recovers and carries on) together with an error joining every ParseError,
// so a caller can report them all at once; File.Errors lists them too.
func Parse(path string, src []byte) (*File, error) {
	if !haveCgo {
		return nil, ErrNoCgo
	}
	f, err := parse(path, src)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if len(f.errors) == 0 {
		return f, nil
	}
	errs := make([]error, len(f.errors))
	for i, e := range f.errors {
		errs[i] = e
	}
	return f, errors.Join(errs...)
}

// ParseFile reads and parses one file, with Parse's results.
func ParseFile(path string) (*File, error) {
	if !haveCgo {
		return nil, ErrNoCgo
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err // already says "open <path>: ..."
	}
	return Parse(path, src)
}

// ParseDir parses every *.bicep file under dir, recursively, in lexical
// order. Like Parse it returns what it could read along with an error joining
// every file's syntax errors; it fails outright only when dir cannot be walked
// or a file cannot be read. A directory with no Bicep files yields no files
// and no error: deciding whether that is acceptable is the caller's job.
func ParseDir(dir string) ([]*File, error) {
	if !haveCgo {
		return nil, ErrNoCgo
	}
	var files []*File
	var syntax []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".bicep") {
			return err
		}
		f, err := ParseFile(path)
		if f == nil {
			return err
		}
		files = append(files, f)
		if err != nil {
			syntax = append(syntax, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse Bicep files under %s: %w", dir, err)
	}
	return files, errors.Join(syntax...)
}
