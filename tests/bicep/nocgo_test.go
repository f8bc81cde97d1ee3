//go:build !cgo

package bicep

import (
	"errors"
	"testing"
)

func TestWithoutCgoEveryParseReturnsErrNoCgo(t *testing.T) {
	dir := t.TempDir() // empty: the error must come before any reading
	_, errParse := Parse("main.bicep", []byte("param p string"))
	_, errFile := ParseFile("does-not-exist.bicep")
	_, errDir := ParseDir(dir + "/does-not-exist")
	for name, err := range map[string]error{"Parse": errParse, "ParseFile": errFile, "ParseDir": errDir} {
		if !errors.Is(err, ErrNoCgo) {
			t.Errorf("%s: got %v, want ErrNoCgo", name, err)
		}
	}
}

func TestWithoutCgoLoadSkips(t *testing.T) {
	tb := &fakeTB{}
	if files := Load(tb, t.TempDir()); files != nil || tb.skipped != ErrNoCgo.Error() || tb.fatal != "" {
		t.Errorf("Load: got files %v, skip %q, fatal %q; want a skip with ErrNoCgo's reason", files, tb.skipped, tb.fatal)
	}
}
