package bicep

import (
	"fmt"
	"strings"
	"testing"
)

// fakeTB records what Load asks of a test, so the skip and fatal paths can
// be checked without ending the real test. Only the methods Load calls are
// implemented; the embedded nil TB makes any other call panic, loudly.
type fakeTB struct {
	testing.TB
	skipped string
	fatal   string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skip(args ...any)                  { f.skipped = fmt.Sprint(args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

// The skip reason must stay one line, so go test -v shows it whole.
func TestErrNoCgoIsOneLine(t *testing.T) {
	if msg := ErrNoCgo.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "CGO_ENABLED=1") {
		t.Errorf("ErrNoCgo: got %q, want one line naming CGO_ENABLED=1", msg)
	}
}
