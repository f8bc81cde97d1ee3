package deploy

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
	"path"
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
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// The tests in this file read the Dockerfile with BuildKit's own parser and
// check the properties the Azure deployment relies on: one image for every
// role, a static binary on distroless as non-root, port 8080, an exec-form
// entrypoint that takes the role as its first argument, and nothing that
// needs BuildKit (az acr build runs the classic builder). Docker itself is
// not needed: TestDockerfileBuild runs the file's build command with the
// local Go toolchain instead.

const (
	dockerBuildImage = "golang:1.26"
	dockerFinalImage = "gcr.io/distroless/static-debian13:nonroot"
	dockerBinary     = "/dropoff"
)

// dockerStage is one FROM and the instructions after it.
type dockerStage struct {
	image, alias string
	from         *parser.Node
	commands     []*parser.Node
}

// dockerParse parses the repository's Dockerfile; parser warnings are failures.
func dockerParse(t *testing.T) []dockerStage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile parser warning: %s %s", w.Short, w.Detail)
	}
	var stages []dockerStage
	for _, n := range res.AST.Children {
		// The parser keeps an instruction as written and ignores one it does
		// not know; the builder matches them case-insensitively.
		n.Value = strings.ToLower(n.Value)
		if _, ok := command.Commands[n.Value]; !ok {
			t.Fatalf("Dockerfile line %d: unknown instruction %s", n.StartLine, n.Value)
		}
		if n.Value == command.From {
			args := dockerArgs(n)
			s := dockerStage{from: n}
			switch {
			case len(args) == 1:
				s.image = args[0]
			case len(args) == 3 && strings.EqualFold(args[1], "as"):
				s.image, s.alias = args[0], args[2]
			default:
				t.Fatalf("Dockerfile line %d: FROM %q: want an image and an optional AS name", n.StartLine, args)
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if n.Value != command.Arg {
				t.Fatalf("Dockerfile line %d: %s before the first FROM", n.StartLine, n.Value)
			}
			continue
		}
		stages[len(stages)-1].commands = append(stages[len(stages)-1].commands, n)
	}
	if len(stages) == 0 {
		t.Fatal("Dockerfile has no FROM")
	}
	return stages
}

// dockerArgs returns an instruction's arguments: its Next chain.
func dockerArgs(n *parser.Node) []string {
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	return args
}

// dockerCommands returns the stage's instructions of one kind (a command constant).
func (s dockerStage) dockerCommands(kind string) []*parser.Node {
	var out []*parser.Node
	for _, n := range s.commands {
		if n.Value == kind {
			out = append(out, n)
		}
	}
	return out
}

func TestDockerfileStages(t *testing.T) {
	stages := dockerParse(t)
	if len(stages) != 2 {
		t.Fatalf("got %d stages, want 2 (build, final)", len(stages))
	}
	tests := []struct {
		name         string
		stage        dockerStage
		image, alias string
	}{
		{"build", stages[0], dockerBuildImage, "build"},
		{"final", stages[1], dockerFinalImage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.stage.image != tt.image {
				t.Errorf("line %d: got image %q, want %q", tt.stage.from.StartLine, tt.stage.image, tt.image)
			}
			if tt.stage.alias != tt.alias {
				t.Errorf("line %d: got alias %q, want %q", tt.stage.from.StartLine, tt.stage.alias, tt.alias)
			}
		})
	}
}

// TestDockerfileImageTags requires every base image to be pinned to a tag
// other than latest, so a rebuild does not silently change Go or Debian.
func TestDockerfileImageTags(t *testing.T) {
	for _, s := range dockerParse(t) {
		tag, ok := dockerImageTag(s.image)
		if !ok {
			t.Errorf("line %d: image %q has no tag", s.from.StartLine, s.image)
		} else if tag == "latest" {
			t.Errorf("line %d: image %q: got tag latest, want a pinned tag", s.from.StartLine, s.image)
		}
	}
}

// dockerImageTag returns the tag of an image reference: the part after the
// last colon of its last path element (a colon before it is a registry port).
func dockerImageTag(ref string) (string, bool) {
	ref, _, _ = strings.Cut(ref, "@") // a digest pins too, but we want a readable tag as well
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	return tag, ok && tag != ""
}

func TestDockerImageTag(t *testing.T) {
	tests := []struct {
		ref, tag string
		ok       bool
	}{
		{"golang:1.26", "1.26", true},
		{"gcr.io/distroless/static-debian13:nonroot", "nonroot", true},
		{"golang", "", false},
		{"localhost:5000/golang", "", false},
		{"localhost:5000/golang:1.26", "1.26", true},
		{"golang:latest", "latest", true},
		{"golang:1.26@sha256:abc", "1.26", true},
	}
	for _, tt := range tests {
		tag, ok := dockerImageTag(tt.ref)
		if tag != tt.tag || ok != tt.ok {
			t.Errorf("dockerImageTag(%q): got %q, %v, want %q, %v", tt.ref, tag, ok, tt.tag, tt.ok)
		}
	}
}

// TestDockerfileClassicBuilder forbids what only BuildKit understands:
// az acr build has no BuildKit, so RUN --mount (and RUN's other flags,
// --network and --security) and heredocs would fail there.
func TestDockerfileClassicBuilder(t *testing.T) {
	for _, s := range dockerParse(t) {
		for _, n := range s.dockerCommands(command.Run) {
			for _, f := range n.Flags {
				if strings.HasPrefix(f, "--mount") {
					t.Errorf("line %d: RUN %s: ACR remote builds have no BuildKit, so no --mount", n.StartLine, f)
				} else {
					t.Errorf("line %d: RUN %s: the classic builder takes no RUN flags", n.StartLine, f)
				}
			}
		}
		for _, n := range s.commands {
			if len(n.Heredocs) > 0 {
				t.Errorf("line %d: %s with a heredoc: BuildKit only", n.StartLine, n.Value)
			}
		}
	}
}

// TestDockerfileNoSecrets checks no ARG or ENV looks like a credential: build
// arguments and environment are visible in the image's history.
func TestDockerfileNoSecrets(t *testing.T) {
	for _, s := range dockerParse(t) {
		for _, n := range s.commands {
			if n.Value != command.Arg && n.Value != command.Env {
				continue
			}
			for _, name := range dockerArgs(n) {
				up := strings.ToUpper(name)
				for _, word := range []string{"SECRET", "TOKEN", "PASSWORD", "CONNECTION_STRING", "KEY"} {
					if strings.Contains(up, word) {
						t.Errorf("line %d: %s %s looks like a secret", n.StartLine, strings.ToUpper(n.Value), name)
					}
				}
			}
		}
	}
}

// TestDockerfileFinalStage checks the runtime image: no shell commands (there
// is no shell), non-root, port 8080, and an exec-form entrypoint so the
// container app's args reach the binary as its subcommand.
func TestDockerfileFinalStage(t *testing.T) {
	stages := dockerParse(t)
	final := stages[len(stages)-1]

	if runs := final.dockerCommands(command.Run); len(runs) > 0 {
		t.Errorf("line %d: RUN in the final stage: distroless static has no shell", runs[0].StartLine)
	}

	users := final.dockerCommands(command.User)
	if len(users) == 0 {
		t.Error("final stage: no USER, want nonroot:nonroot")
	} else if u := dockerArgs(users[len(users)-1]); !slices.Contains([]string{"nonroot:nonroot", "65532:65532"}, strings.Join(u, " ")) {
		t.Errorf("final stage: got USER %q, want nonroot:nonroot or 65532:65532", u)
	}

	var ports []string
	for _, n := range final.dockerCommands(command.Expose) {
		ports = append(ports, dockerArgs(n)...)
	}
	if diff := cmp.Diff([]string{"8080"}, ports); diff != "" {
		t.Errorf("final stage EXPOSE (-want +got):\n%s", diff)
	}

	entrypoints := final.dockerCommands(command.Entrypoint)
	if len(entrypoints) != 1 {
		t.Fatalf("final stage: got %d ENTRYPOINTs, want 1", len(entrypoints))
	}
	ep := entrypoints[0]
	if !ep.Attributes["json"] {
		t.Errorf("line %d: ENTRYPOINT in shell form; want exec form, there is no shell and args must reach the binary", ep.StartLine)
	}
	if diff := cmp.Diff([]string{dockerBinary}, dockerArgs(ep)); diff != "" {
		t.Errorf("line %d: ENTRYPOINT (-want +got):\n%s", ep.StartLine, diff)
	}
}

// TestDockerfileCopies checks what crosses into each stage: the build stage
// copies only go.mod, go.sum and src/, each to the same place under WORKDIR,
// so the build stage's directory mirrors the repository root (which is why
// TestDockerfileBuild may run the build command there); the final stage
// copies just the binary the build command wrote.
func TestDockerfileCopies(t *testing.T) {
	stages := dockerParse(t)
	build, final := stages[0], stages[len(stages)-1]

	allowed := []string{"go.mod", "go.sum", "src"}
	for _, n := range build.commands {
		if n.Value == command.Add {
			t.Errorf("line %d: ADD in the build stage; want COPY", n.StartLine)
		}
		if n.Value != command.Copy {
			continue
		}
		args := dockerArgs(n)
		if len(args) < 2 {
			t.Fatalf("line %d: COPY %q: want sources and a destination", n.StartLine, args)
		}
		srcs, dst := args[:len(args)-1], path.Clean(args[len(args)-1])
		for _, src := range srcs {
			src = path.Clean(src)
			if !slices.Contains(allowed, src) {
				t.Errorf("line %d: COPY %s: want only %v", n.StartLine, src, allowed)
			}
			if dst != "." && dst != src {
				t.Errorf("line %d: COPY %s to %s: want it at the same path under WORKDIR", n.StartLine, src, dst)
			}
		}
	}

	buildArgs := dockerBuildCommand(t, build).args
	out := buildArgs[dockerOutputIndex(t, buildArgs)]
	var copied bool
	for _, n := range final.dockerCommands(command.Copy) {
		if !slices.Contains(n.Flags, "--from=build") {
			t.Errorf("line %d: COPY %q without --from=build: the final stage needs only the binary", n.StartLine, dockerArgs(n))
			continue
		}
		if diff := cmp.Diff([]string{out, dockerBinary}, dockerArgs(n)); diff != "" {
			t.Errorf("line %d: COPY --from=build (-want +got):\n%s", n.StartLine, diff)
		}
		copied = true
	}
	if !copied {
		t.Errorf("final stage: no COPY --from=build %s %s", out, dockerBinary)
	}
}

// dockerBuild is the build stage's go build command as a process would see it.
type dockerBuild struct {
	line int
	env  []string // NAME=value, from ENV lines before the RUN and assignments in it
	args []string // go build ...
}

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
		resp, err := client.Get(url + "/healthz")
		last := fmt.Sprint(err)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			last = resp.Status
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/healthz: no 200 within 30s (last: %s)\n%s", url, last, logged())
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

// TestDockerignore checks the build context leaves out local databases and
// history, and keeps what the Dockerfile copies. Patterns are matched as the
// builder does for top-level paths: path.Match, a leading / ignored, the last
// matching line winning, ! re-including.
func TestDockerignore(t *testing.T) {
	patterns := dockerIgnorePatterns(t)
	tests := []struct {
		path     string
		excluded bool
	}{
		{"data", true},
		{".git", true},
		{"write.db", true},
		{"dropoff", true},
		{"go.mod", false},
		{"go.sum", false},
		{"src", false},
	}
	for _, tt := range tests {
		if got := dockerIgnored(patterns, tt.path); got != tt.excluded {
			t.Errorf("%s: got excluded %v, want %v", tt.path, got, tt.excluded)
		}
	}
}

// dockerIgnorePatterns reads .dockerignore: one pattern a line, # comments.
func dockerIgnorePatterns(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		p := path.Clean(strings.TrimPrefix(strings.TrimPrefix(line, "!"), "/"))
		if _, err := path.Match(p, ""); err != nil {
			t.Fatalf(".dockerignore %q: %v", line, err)
		}
		if neg {
			p = "!" + p
		}
		patterns = append(patterns, p)
	}
	return patterns
}

func dockerIgnored(patterns []string, name string) bool {
	ignored := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if ok, _ := path.Match(strings.TrimPrefix(p, "!"), name); ok {
			ignored = !neg
		}
	}
	return ignored
}
