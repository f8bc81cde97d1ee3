//go:build cgo

package bicep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFiles lays files out under a new temporary directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	good := map[string]string{
		"main.bicep":          "targetScope = 'subscription'\nmodule app 'modules/app.bicep' = { name: 'app' }\n",
		"modules/app.bicep":   "param env string\n",
		"modules/queue.bicep": "resource q 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = { name: 'q' }\n",
		"main.bicepparam":     "using 'main.bicep'\n", // not a .bicep file
		"modules/README.md":   "# not Bicep\n",
	}
	tests := []struct {
		name      string
		files     map[string]string
		wantPaths []string
		wantFatal []string // substrings of the Fatalf message; nil for no failure
	}{
		{"every .bicep file, recursively, in order", good,
			[]string{"main.bicep", "modules/app.bicep", "modules/queue.bicep"}, nil},
		{"syntax errors in several files, all reported",
			map[string]string{"a.bicep": "var a = (\n", "b.bicep": "param ok string\n", "c/d.bicep": "var o = { ...x }\n"},
			nil, []string{"a.bicep:1:", "c/d.bicep:1:11: syntax error at \"...x\""}},
		{"no Bicep files", map[string]string{"README.md": "#"}, nil, []string{"no *.bicep files under"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			tb := &fakeTB{}
			files := Load(tb, dir)
			if tb.skipped != "" {
				t.Fatalf("Load skipped with cgo on: %s", tb.skipped)
			}
			for _, want := range tt.wantFatal {
				if !strings.Contains(tb.fatal, want) {
					t.Errorf("Fatalf message: got %q, want it to contain %q", tb.fatal, want)
				}
			}
			if tt.wantFatal == nil && tb.fatal != "" {
				t.Errorf("Fatalf: got %q, want no failure", tb.fatal)
			}
			var paths []string
			for _, f := range files {
				rel, _ := filepath.Rel(dir, f.Path)
				paths = append(paths, filepath.ToSlash(rel))
			}
			if !cmp.Equal(paths, tt.wantPaths) {
				t.Errorf("files: got %q, want %q", paths, tt.wantPaths)
			}
		})
	}
}

func TestLoadMissingDirFails(t *testing.T) {
	tb := &fakeTB{}
	Load(tb, filepath.Join(t.TempDir(), "absent"))
	if !strings.Contains(tb.fatal, "no such file or directory") {
		t.Errorf("Fatalf: got %q, want the missing directory reported", tb.fatal)
	}
}

// ParseDir returns the files it read even when some have errors, so a caller
// can check the rest.
func TestParseDirKeepsFilesWithErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"bad.bicep": "param p string\nvar a = (\n", "good.bicep": "param q string\n"})
	files, err := ParseDir(dir)
	if err == nil || len(files) != 2 || files[0].Param("p") == nil {
		t.Errorf("ParseDir: got %d files, err %v; want both files, p read from bad.bicep, and an error", len(files), err)
	}
}
