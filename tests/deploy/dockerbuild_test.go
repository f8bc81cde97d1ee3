package deploy

// The tests in this file exercise the Dockerfile's build command: they run it
// with the local Go toolchain, exactly as parsed, and then run what it built.

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/frontend/dockerfile/command"
)

// dockerBuildCommand finds the one RUN of the build stage that runs go build.
func dockerBuildCommand(t *testing.T, s dockerStage) dockerBuild {
	t.Helper()
	var found []dockerBuild
	var stageEnv []string
	for _, n := range s.commands {
		switch n.Value {
		case command.Env:
			args := dockerArgs(n)
			for i := 0; i+1 < len(args); i += 3 { // the parser gives name, value, separator
				value, err := dockerShellSplit(args[i+1])
				if err != nil || len(value) > 1 {
					t.Fatalf("line %d: ENV %s=%s: want one plain word", n.StartLine, args[i], args[i+1])
				}
				stageEnv = append(stageEnv, args[i]+"="+strings.Join(value, ""))
			}
		case command.Shell:
			t.Fatalf("line %d: SHELL in the build stage: RUN is read here as /bin/sh would", n.StartLine)
		case command.Run:
			if n.Attributes["json"] {
				continue
			}
			words, err := dockerShellSplit(strings.Join(dockerArgs(n), " "))
			if err != nil {
				t.Fatalf("line %d: RUN: %v", n.StartLine, err)
			}
			b := dockerBuild{line: n.StartLine, env: slices.Clone(stageEnv)}
			for len(words) > 0 && dockerIsAssignment(words[0]) {
				b.env, words = append(b.env, words[0]), words[1:]
			}
			if len(words) >= 2 && words[0] == "go" && words[1] == "build" {
				b.args = words
				found = append(found, b)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("build stage: got %d RUN go build, want 1", len(found))
	}
	return found[0]
}

func dockerIsAssignment(word string) bool {
	name, _, ok := strings.Cut(word, "=")
	return ok && name != "" && strings.IndexFunc(name, func(r rune) bool {
		return !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) < 0
}

// dockerEnvValue returns the last value of name in env, as exec does.
func dockerEnvValue(env []string, name string) (string, bool) {
	for _, kv := range slices.Backward(env) {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// dockerOutputIndex returns the index of the word holding -o's value.
func dockerOutputIndex(t *testing.T, args []string) int {
	t.Helper()
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			return i + 1
		}
		if strings.HasPrefix(a, "-o=") {
			t.Fatalf("go build %s: write -o and its path as two words", a)
		}
	}
	t.Fatalf("go build %q: no -o", args)
	return 0
}

func TestDockerfileBuildCommand(t *testing.T) {
	b := dockerBuildCommand(t, dockerParse(t)[0])
	if v, ok := dockerEnvValue(b.env, "CGO_ENABLED"); !ok || v != "0" {
		t.Errorf("line %d: go build runs with CGO_ENABLED=%q (set: %v), want 0: distroless static has no libc", b.line, v, ok)
	}
	want := []string{"go", "build", "-trimpath", "-ldflags=-s -w", "-o", "/out/dropoff", "./src/cmd/dropoff"}
	if diff := cmp.Diff(want, b.args); diff != "" {
		t.Errorf("line %d: go build (-want +got):\n%s", b.line, diff)
	}
}

// dockerShellSplit splits a command line into words as a POSIX shell would,
// for the subset a Dockerfile RUN here may use: blanks, single and double
// quotes, and backslash escapes. Anything that would make the shell do more
// than run one command (; & | < > $ ` and the like) is an error.
func dockerShellSplit(s string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words, inWord = append(words, word.String()), false
				word.Reset()
			}
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			word.WriteString(s[i+1 : i+1+end])
			i, inWord = i+1+end, true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '$' || s[i] == '`' {
					return nil, errors.New("expansion in double quotes is not supported")
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\\n", s[i+1]) >= 0 {
					i++
				}
				word.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			word.WriteByte(s[i])
			inWord = true
		case strings.IndexByte(";&|<>()$`*?[#~{}", c) >= 0:
			return nil, fmt.Errorf("unsupported shell syntax %q", c)
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

func TestDockerShellSplit(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "  go   build  ", want: []string{"go", "build"}},
		{in: "go build -ldflags='-s -w' -o x", want: []string{"go", "build", "-ldflags=-s -w", "-o", "x"}},
		{in: `a "b c" d\ e`, want: []string{"a", "b c", "d e"}},
		{in: `'it'\''s'`, want: []string{"it's"}},
		{in: `"say \"hi\" \n"`, want: []string{`say "hi" \n`}},
		{in: "''", want: []string{""}},
		{in: "CGO_ENABLED=0 go build", want: []string{"CGO_ENABLED=0", "go", "build"}},
		{in: "'open", wantErr: true},
		{in: `"open`, wantErr: true},
		{in: `x\`, wantErr: true},
		{in: "go build && rm -rf /", wantErr: true},
		{in: "go build; true", wantErr: true},
		{in: "echo $HOME", wantErr: true},
		{in: `echo "$HOME"`, wantErr: true},
		{in: "echo '$HOME'", want: []string{"echo", "$HOME"}},
	}
	for _, tt := range tests {
		got, err := dockerShellSplit(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("dockerShellSplit(%q): got error %v, want error: %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
			t.Errorf("dockerShellSplit(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestDockerfileBuild runs the Dockerfile's go build command, with its
// environment, from the repository root (which TestDockerfileCopies shows the
// build stage mirrors), then runs the binary the way the container would:
// with a role as its only argument and its configuration in the environment.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: building dropoff takes about a minute on a cold build cache")
	}
	root := repoRoot(t)
	b := dockerBuildCommand(t, dockerParse(t)[0])
	bin := filepath.Join(t.TempDir(), "dropoff")
	args := slices.Clone(b.args)
	args[dockerOutputIndex(t, args)] = bin

	build := exec.CommandContext(t.Context(), args[0], args[1:]...)
	build.Dir = root
	build.Env = append(os.Environ(), b.env...)
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%q: %v\n%s", args, err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))

	t.Run("buildinfo", func(t *testing.T) { dockerCheckBuildInfo(t, bin) })
	t.Run("static", func(t *testing.T) { dockerCheckStatic(t, bin) })
	t.Run("help", func(t *testing.T) { dockerCheckHelp(t, bin) })
	t.Run("serve", func(t *testing.T) { dockerCheckServe(t, bin) })
}

// dockerCheckBuildInfo reads back the settings the binary was built with.
// Go leaves -ldflags out of the build info under -trimpath (go.dev/issue/52372);
// dockerCheckStatic checks its effect instead.
func dockerCheckBuildInfo(t *testing.T, bin string) {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range info.Settings {
		got[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if got[key] != want {
			t.Errorf("build setting %s: got %q, want %q", key, got[key], want)
		}
	}
}

// dockerCheckStatic checks the binary needs no dynamic loader or libraries,
// which distroless static does not have, and that -ldflags='-s -w' reached
// the linker as one argument: no symbol table (-s), no DWARF (-w).
func dockerCheckStatic(t *testing.T, bin string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("the binary is not ELF on %s", runtime.GOOS)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("got imported libraries %q (%v), want none", libs, err)
	}
	for _, sec := range f.Sections {
		if sec.Name == ".symtab" {
			t.Error("the binary has a .symtab section: -ldflags=-s did not apply")
		}
		if strings.HasPrefix(sec.Name, ".debug_") || strings.HasPrefix(sec.Name, ".zdebug_") {
			t.Errorf("the binary has a %s section: -ldflags=-w did not apply", sec.Name)
		}
	}
}

func dockerCheckHelp(t *testing.T, bin string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, "help")
	cmd.Env = []string{} // the image sets nothing the binary needs
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dropoff help: %v\n%s", err, out)
	}
	// The roles a container app passes as args, and the default.
	for _, role := range []string{"serve", "command-api", "worker", "projector", "query-api"} {
		if !dockerListsWord(out, role) {
			t.Errorf("dropoff help does not list %s:\n%s", role, out)
		}
	}
}

// dockerListsWord reports whether out has a line whose first word is word.
func dockerListsWord(out []byte, word string) bool {
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == word {
			return true
		}
	}
	return false
}

// dockerCheckServe starts the binary as serve, configured only through the
// environment as the deployment does, waits for /healthz, and requires a
// clean exit on SIGTERM, which is how Container Apps stops a replica.
func dockerCheckServe(t *testing.T, bin string) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"DROPOFF_ADDR=127.0.0.1:0",
		"DROPOFF_DATA_DIR=" + t.TempDir(),
		"DROPOFF_LOG_FORMAT=json",
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// done is closed once the process has exited and its stderr is drained;
	// waitErr is Wait's result, to read after done.
	done := make(chan struct{})
	var waitErr error
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})

	var mu sync.Mutex
	var logs bytes.Buffer
	urls := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.Write(sc.Bytes())
			logs.WriteByte('\n')
			mu.Unlock()
			var entry struct{ Msg, URL string }
			if json.Unmarshal(sc.Bytes(), &entry) == nil && entry.Msg == "dropoff is listening" {
				select {
				case urls <- entry.URL:
				default:
				}
			}
		}
		waitErr = cmd.Wait() // after stderr is drained, as Wait requires
	}()
	logged := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }

	var url string
	select {
	case url = <-urls:
	case <-done:
		t.Fatalf("dropoff serve exited before listening: %v\n%s", waitErr, logged())
	case <-time.After(30 * time.Second):
		t.Fatalf("dropoff serve did not log its URL within 30s:\n%s", logged())
	}

	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url + "/readyz") // every role up on embedded stores
		last := fmt.Sprint(err)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			last = resp.Status
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/readyz: no 200 within 30s (last: %s)\n%s", url, last, logged())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, with the deadline above
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("dropoff serve on SIGTERM: got %v, want exit 0\n%s", waitErr, logged())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("dropoff serve did not exit within 30s of SIGTERM:\n%s", logged())
	}
}
