package sqlserver

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	// A column of type rowversion (TIMESTAMP is its old name).
	rowversionColumn = regexp.MustCompile(`(?i)\b(\w+)\s+(ROWVERSION|TIMESTAMP)\b`)
	feedRead         = regexp.MustCompile(`(?i)FROM\s+dbo\.change_feed\b(\s+WITH\s*\(\s*READCOMMITTEDLOCK\s*\))?`)
)

// TestOneRowversionColumn: the write database has exactly one rowversion
// column, the feed's position. The database has one rowversion counter, and
// MIN_ACTIVE_ROWVERSION() is database-wide: a second rowversion column
// would take values from the same counter, so the feed's positions would
// skip numbers (lag counted in positions would be wrong) and a long
// transaction on that other table would hold the feed's bound back.
func TestOneRowversionColumn(t *testing.T) {
	var found []string
	err := fs.WalkDir(migrationFiles, "migrations/"+writeSet, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrationFiles, path)
		if err != nil {
			return err
		}
		for _, m := range rowversionColumn.FindAllStringSubmatch(sqlComment.ReplaceAllString(string(b), ""), -1) {
			found = append(found, path+": "+m[1]+" "+m[2])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !strings.HasSuffix(found[0], "position ROWVERSION") {
		t.Errorf("rowversion columns in the write database: %q; want the change feed's position alone", found)
	}
}

// TestFeedReadsLockCommitted: every read of the change feed takes
// READCOMMITTEDLOCK, so it sees every row committed below the bound whatever
// READ_COMMITTED_SNAPSHOT says (see feed.go).
func TestFeedReadsLockCommitted(t *testing.T) {
	src, err := os.ReadFile("feed.go")
	if err != nil {
		t.Fatal(err)
	}
	reads := feedRead.FindAllStringSubmatch(sqlComment.ReplaceAllString(string(src), ""), -1)
	if len(reads) < 2 {
		t.Fatalf("found %d reads of dbo.change_feed in feed.go, want ReadChanges and Head at least", len(reads))
	}
	for _, m := range reads {
		if m[1] == "" {
			t.Errorf("%q reads the feed without WITH (READCOMMITTEDLOCK)", m[0])
		}
	}
}
