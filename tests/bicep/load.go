package bicep

import (
	"errors"
	"testing"
)

// Load parses every *.bicep file under dir, recursively, for a test that
// checks templates. It skips the test when the build has no cgo, with
// ErrNoCgo's one-line reason, and fails it when any file has a syntax error
// (listing them all, one per line) or when dir holds no Bicep files at all: a
// template test that finds nothing to check must not pass.
func Load(t testing.TB, dir string) []*File {
	t.Helper()
	files, err := ParseDir(dir)
	switch {
	case errors.Is(err, ErrNoCgo):
		t.Skip(ErrNoCgo.Error())
		return nil // Skip does not return from a real test; it may from a fake
	case err != nil:
		t.Fatalf("parse Bicep under %s:\n%v", dir, err)
		return nil
	case len(files) == 0:
		t.Fatalf("no *.bicep files under %s", dir)
		return nil
	}
	return files
}
