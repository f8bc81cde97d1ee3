package sqlserver

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestSplitBatches(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []string
	}{
		{"one batch", "CREATE TABLE a (x INT);\n", []string{"CREATE TABLE a (x INT);"}},
		{"GO separates, any case, spaces and CRLF", "SELECT 1;\r\n  go  \r\nSELECT 2;\r\nGO\r\n",
			[]string{"SELECT 1;", "SELECT 2;"}},
		{"GO inside a line does not", "SELECT 1; GO\nGOTO done;\n-- GO\n",
			[]string{"SELECT 1; GO\nGOTO done;\n-- GO"}},
		{"comment-only and empty batches dropped", "-- header\n\nGO\nSELECT 1;\nGO\n\nGO\n",
			[]string{"SELECT 1;"}},
		{"empty script", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitBatches(tt.script); !slices.Equal(got, tt.want) {
				t.Errorf("splitBatches(%q) = %q, want %q", tt.script, got, tt.want)
			}
		})
	}
}

func TestLoadMigrationsRejects(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
	}{
		{"a gap", fstest.MapFS{"m/0001_a.sql": {Data: []byte("SELECT 1;")}, "m/0003_c.sql": {Data: []byte("SELECT 1;")}}},
		{"a repeat", fstest.MapFS{"m/0001_a.sql": {Data: []byte("SELECT 1;")}, "m/01_b.sql": {Data: []byte("SELECT 1;")}}},
		{"not starting at 1", fstest.MapFS{"m/0002_b.sql": {Data: []byte("SELECT 1;")}}},
		{"a stray file", fstest.MapFS{"m/0001_a.sql": {Data: []byte("SELECT 1;")}, "m/README.md": {Data: []byte("x")}}},
		{"no directory", fstest.MapFS{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ms, err := loadMigrations(tt.fs, "m"); err == nil {
				t.Errorf("loadMigrations = %d migrations, want an error", len(ms))
			}
		})
	}
}

// The embedded scripts are checked here for the rules every migration must
// follow, since no server runs them in ordinary test runs.
func TestEmbeddedMigrations(t *testing.T) {
	for _, set := range []string{writeSet, projectionSet} {
		t.Run(set, func(t *testing.T) {
			ms, err := loadMigrations(migrationFiles, "migrations/"+set)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				t.Fatal("no migrations")
			}
			for _, m := range ms {
				if len(m.batches) == 0 {
					t.Errorf("%04d_%s: no statements", m.version, m.name)
				}
				for _, b := range m.batches {
					checkBatch(t, m, b)
				}
			}
		})
	}
}

var (
	createTable = regexp.MustCompile(`(?i)CREATE\s+TABLE\s+dbo\.(\w+)`)
	createIndex = regexp.MustCompile(`(?i)CREATE\s+(?:UNIQUE\s+)?(?:NONCLUSTERED\s+|CLUSTERED\s+)?INDEX\s+(\w+)`)
	idColumn    = regexp.MustCompile(`(?im)^\s*(\w*id)\s+NVARCHAR[^,]*`)
	reserved    = regexp.MustCompile(`(?im)^\s*(checkpoint|key|user|file|plan|percent|open|close)\s+\w+`)
)

func checkBatch(t *testing.T, m migration, batch string) {
	t.Helper()
	name := func() string { return strings.Join([]string{m.name, firstLine(batch)}, ": ") }
	if strings.Contains(strings.ToUpper(batch), "CREATE OR ALTER TABLE") {
		t.Errorf("%s: CREATE OR ALTER TABLE does not exist in T-SQL", name())
	}
	for _, c := range createTable.FindAllStringSubmatch(batch, -1) {
		guard := "IF OBJECT_ID(N'dbo." + c[1] + "', N'U') IS NULL"
		if !strings.Contains(batch, guard) {
			t.Errorf("%s: CREATE TABLE dbo.%s without the guard %q", name(), c[1], guard)
		}
	}
	for _, c := range createIndex.FindAllStringSubmatch(batch, -1) {
		guard := "WHERE name = N'" + c[1] + "'"
		if !strings.Contains(batch, guard) {
			t.Errorf("%s: CREATE INDEX %s without a sys.indexes guard", name(), c[1])
		}
	}
	for _, c := range idColumn.FindAllStringSubmatch(batch, -1) {
		if !strings.Contains(c[0], "COLLATE Latin1_General_100_BIN2") {
			t.Errorf("%s: id column %s must compare byte for byte (COLLATE Latin1_General_100_BIN2)", name(), c[1])
		}
	}
	for _, c := range reserved.FindAllStringSubmatch(batch, -1) {
		t.Errorf("%s: column %s is a T-SQL reserved word", name(), c[1])
	}
	if strings.Contains(strings.ToUpper(batch), " DATETIME ") || strings.Contains(strings.ToUpper(batch), "DATETIMEOFFSET") {
		t.Errorf("%s: times are DATETIME2(7) in UTC", name())
	}
}

func firstLine(s string) string {
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
			return l
		}
	}
	return ""
}

func TestAppLockResult(t *testing.T) {
	for code, wantErr := range map[int]bool{0: false, 1: false, -1: true, -2: true, -3: true, -999: true} {
		if err := appLockResult("r", code); (err != nil) != wantErr {
			t.Errorf("appLockResult(%d) = %v, want error %v", code, err, wantErr)
		}
	}
}
