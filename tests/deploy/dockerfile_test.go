package deploy

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
// copies only go.mod, go.sum, src/ and the docs package (the OpenAPI document
// the binary embeds), each to the same place under WORKDIR,
// so the build stage's directory mirrors the repository root (which is why
// TestDockerfileBuild may run the build command there); the final stage
// copies just the binary the build command wrote.
func TestDockerfileCopies(t *testing.T) {
	stages := dockerParse(t)
	build, final := stages[0], stages[len(stages)-1]

	allowed := []string{"go.mod", "go.sum", "src", "docs/openapi.go", "docs/openapi.yaml"}
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
			if dst != "." && dst != src && dst != path.Dir(src) {
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

// TestDockerignore checks the build context leaves out local databases and
// history, and keeps what the Dockerfile copies. Patterns are matched as the
// builder does: path.Match against the path or a directory above it, a
// leading / ignored, the last matching line winning, ! re-including.
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
		{"docs/api.md", true},
		{"docs/openapi.go", false},
		{"docs/openapi.yaml", false},
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

// dockerIgnored reports whether name is left out of the build context. As
// for the builder, a pattern that matches a directory matches what is in it.
func dockerIgnored(patterns []string, name string) bool {
	ignored := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		for dir := name; dir != "."; dir = path.Dir(dir) {
			if ok, _ := path.Match(strings.TrimPrefix(p, "!"), dir); ok {
				ignored = !neg
				break
			}
		}
	}
	return ignored
}
