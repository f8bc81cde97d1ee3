package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWalkthrough runs every command of the labs in docs/walkthrough.md, in
// bash, against real dropoff processes, and checks what each lab says you
// will see. It runs the whole page twice in a row in the same directory: a
// lab that leaves something behind that breaks its next run fails here. (The
// second time, each lab finds in lab-data what it left there itself the
// first time: see stashLabData.)
//
// The convention the page follows (its introduction says the same to a
// student):
//
//   - Only ```sh blocks under the headings "## Before you start" and
//     "## Lab N: …" are run; each lab's blocks in one bash process of its
//     own, one command after the other, so shell variables (op=$(…)) and
//     background jobs (& server=$!) carry from one command to the next
//     within a lab. A command is a line that is not a comment; a line
//     ending in \ continues on the next one.
//   - Comment lines right under a command state what it does:
//     "# → TEXT": a line of its output (stdout and stderr) holds TEXT, where
//     "…" stands for anything and runs of blanks count as one blank;
//     "# repeat until → TEXT": the command is run again, every 100ms, until
//     a line of its output holds TEXT (30s at most); the "# →" lines after
//     it are checked on that last output;
//     "# exit status → N": the command exits with N (otherwise it must
//     exit 0). Any other comment is prose for the reader.
//   - Every command must finish within two minutes; a server is started in
//     the background (&), and each lab stops its own before it ends.
//
// What the test changes in the commands, so that the page can show plain,
// copyable ones:
//   - 127.0.0.1:808N and localhost:808N become free ports chosen when the
//     test starts (and back again in the output it checks); the default
//     address, which a plain ./dropoff listens on and dropoff deadletters
//     talks to, is set through DROPOFF_ADDR and DROPOFF_URL to the port
//     that stands for 8080.
//   - "go build -o dropoff ./src/cmd/dropoff" is not run: ./dropoff is the
//     binary TestMain built, once for the package.
//   - "./dropoff lab poison ID" is poisonForLab (walkthrough_poison_test.go)
//     until that subcommand exists.
//
// The commands run in a temporary directory holding ./dropoff and a copy of
// go.mod, go.sum, src/ and docs/ (lab 7 works on a copy of the code), with
// the environment of isolatedEnv. The whole test takes about 40 seconds on
// two cores, most of it lab 4's load run, twice: 10s of load, then up to 10s
// more for the session locks the killed process held.
func TestWalkthrough(t *testing.T) {
	requireProcessGroups(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the labs use curl, which is not installed here")
	}
	labs := parseWalkthrough(t, "../docs/walkthrough.md")
	if len(labs) != 8 { // before you start, and the seven labs
		t.Fatalf("docs/walkthrough.md: found %d sections to run, want the setup and 7 labs", len(labs))
	}
	w := newLabWorkdir(t)
	for round := 1; round <= 2; round++ {
		for i, l := range labs {
			if round == 2 {
				w.restoreLabData(t, i)
			}
			ok := t.Run(fmt.Sprintf("run%d/%s", round, l.slug()), func(t *testing.T) { w.run(t, l) })
			if !ok {
				t.FailNow() // the next labs would only fail on what this one left
			}
			if round == 1 {
				w.stashLabData(t, i)
			}
		}
	}
}

// stashLabData puts aside what lab i left in lab-data, and restoreLabData
// puts it back before lab i's second run: so the second time, each lab
// starts on its own leftovers, as when it is run twice in a row. A lab that
// does not start from a fresh data directory fails there, even when the lab
// before it happens to clean up.
func (w *labWorkdir) stashLabData(t *testing.T, i int) {
	t.Helper()
	err := os.Rename(filepath.Join(w.dir, "lab-data"), filepath.Join(w.dir, fmt.Sprintf(".lab-data-%d", i)))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

func (w *labWorkdir) restoreLabData(t *testing.T, i int) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(w.dir, "lab-data")); err != nil {
		t.Fatal(err)
	}
	err := os.Rename(filepath.Join(w.dir, fmt.Sprintf(".lab-data-%d", i)), filepath.Join(w.dir, "lab-data"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// lab is one section of the walkthrough that is run.
type lab struct {
	title string
	steps []labStep
}

func (l lab) slug() string {
	s, _, _ := strings.Cut(l.title, ":")
	s, _, _ = strings.Cut(s, " (")
	return strings.ReplaceAll(strings.ToLower(s), " ", "_")
}

// labStep is one command and what the page says of it.
type labStep struct {
	line   int      // of the command in the page, for messages
	cmd    string   // continuation lines joined
	until  string   // non-empty: repeat until a line of the output holds it
	expect []string // lines of the output that must be there
	exit   int      // the exit status it must end with
}

var (
	labHeading = regexp.MustCompile(`^## (Before you start.*|Lab \d+:.*)$`)
	seeLine    = regexp.MustCompile(`^# → (.+)$`)
	untilLine  = regexp.MustCompile(`^# repeat until → (.+)$`)
	exitLine   = regexp.MustCompile(`^# exit status → (\d+)$`)
)

// parseWalkthrough reads the page's labs, following the convention above.
func parseWalkthrough(t *testing.T, path string) []lab {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var labs []lab
	var cur *lab
	inBlock, run := false, false
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		line, n := lines[i], i+1
		switch {
		case !inBlock && strings.HasPrefix(line, "## "):
			cur, run = nil, false
			if m := labHeading.FindStringSubmatch(line); m != nil {
				labs = append(labs, lab{title: m[1]})
				cur, run = &labs[len(labs)-1], true
			}
		case !inBlock && line == "```sh":
			inBlock = true
		case inBlock && line == "```":
			inBlock = false
		case inBlock && run:
			if strings.TrimSpace(line) == "" {
				continue
			}
			if strings.HasPrefix(line, "#") {
				if !seeLine.MatchString(line) && !untilLine.MatchString(line) && !exitLine.MatchString(line) {
					continue // prose
				}
				if len(cur.steps) == 0 {
					t.Fatalf("%s:%d: %q stands under no command", path, n, line)
				}
				s := &cur.steps[len(cur.steps)-1]
				if m := seeLine.FindStringSubmatch(line); m != nil {
					s.expect = append(s.expect, m[1])
				} else if m := untilLine.FindStringSubmatch(line); m != nil {
					if s.until != "" || len(s.expect) > 0 {
						t.Fatalf("%s:%d: repeat until must be the first line under its command", path, n)
					}
					s.until = m[1]
				} else {
					s.exit, _ = strconv.Atoi(exitLine.FindStringSubmatch(line)[1])
				}
				continue
			}
			cmd := line
			for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
				i++
				cmd = strings.TrimSuffix(cmd, `\`) + " " + strings.TrimSpace(lines[i])
			}
			cur.steps = append(cur.steps, labStep{line: n, cmd: cmd})
		}
	}
	if inBlock {
		t.Fatalf("%s: a code block is not closed", path)
	}
	for _, l := range labs {
		if len(l.steps) == 0 {
			t.Fatalf("%s: %q has no command to run", path, l.title)
		}
	}
	return labs
}

// labWorkdir is the directory the labs run in, and the ports that stand for
// the page's.
type labWorkdir struct {
	dir   string
	ports map[string]string // the page's port → the one used here
	env   []string
}

func newLabWorkdir(t *testing.T) *labWorkdir {
	t.Helper()
	w := &labWorkdir{dir: t.TempDir(), ports: map[string]string{}}
	for _, name := range []string{"go.mod", "go.sum", "src", "docs"} {
		src := filepath.Join("..", name)
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			err = os.CopyFS(filepath.Join(w.dir, name), os.DirFS(src))
		} else {
			var b []byte
			if b, err = os.ReadFile(src); err == nil {
				err = os.WriteFile(filepath.Join(w.dir, name), b, 0o644)
			}
		}
		if err != nil {
			t.Fatalf("copy %s: %v", name, err)
		}
	}
	if err := os.Symlink(binary, filepath.Join(w.dir, "dropoff")); err != nil {
		t.Fatal(err)
	}
	for p := 8080; p <= 8089; p++ {
		w.ports[strconv.Itoa(p)] = freePort(t)
	}
	w.env = append(isolatedEnv(os.Environ()),
		"DROPOFF_ADDR=127.0.0.1:"+w.ports["8080"], "DROPOFF_URL=http://127.0.0.1:"+w.ports["8080"])
	return w
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

var pagePort = regexp.MustCompile(`\b(127\.0\.0\.1|localhost):(808\d)\b`)

// toHere puts the test's ports in a command; fromHere puts the page's back
// in an output.
func (w *labWorkdir) toHere(cmd string) string {
	return pagePort.ReplaceAllStringFunc(cmd, func(m string) string {
		host, port, _ := strings.Cut(m, ":")
		return host + ":" + w.ports[port]
	})
}

func (w *labWorkdir) fromHere(out string) string {
	for page, here := range w.ports {
		out = strings.ReplaceAll(out, "127.0.0.1:"+here, "127.0.0.1:"+page)
		out = strings.ReplaceAll(out, "localhost:"+here, "localhost:"+page)
	}
	return out
}

const (
	stepTimeout  = 2 * time.Minute
	untilTimeout = 30 * time.Second
	pollInterval = 100 * time.Millisecond
)

// run runs one lab's commands in one bash process and checks each one.
func (w *labWorkdir) run(t *testing.T, l lab) {
	sh := startShell(t, w.dir, w.env)
	for _, s := range l.steps {
		if s.cmd == "go build -o dropoff ./src/cmd/dropoff" {
			continue // ./dropoff is the binary TestMain built
		}
		deadline := time.Now().Add(untilTimeout)
		for {
			var out string
			var code int
			out, code = sh.exec(t, w.toHere(s.cmd), s.line)
			out = w.fromHere(out)
			if s.until != "" && !outputHas(out, s.until) {
				if time.Now().After(deadline) {
					t.Fatalf("walkthrough.md:%d: %s\nrepeated for %v, never showed %q; last output (exit status %d):\n%s\n%s",
						s.line, s.cmd, untilTimeout, s.until, code, tail([]byte(out), 60), sh.logs())
				}
				time.Sleep(pollInterval) // polling, with the deadline above
				continue
			}
			if code != s.exit {
				t.Fatalf("walkthrough.md:%d: %s\nexit status %d, want %d; output:\n%s\n%s", s.line, s.cmd, code, s.exit, tail([]byte(out), 60), sh.logs())
			}
			for _, e := range s.expect {
				if !outputHas(out, e) {
					t.Errorf("walkthrough.md:%d: %s\nwant a line with %q; output:\n%s", s.line, s.cmd, e, tail([]byte(out), 60))
				}
			}
			break
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	sh.close(t)
}

// outputHas reports whether a line of out holds want, with … standing for
// anything and runs of blanks as one.
func outputHas(out, want string) bool {
	parts := strings.Split(squeeze(want), "…")
	for _, line := range strings.Split(out, "\n") {
		rest, ok := squeeze(line), true
		for _, p := range parts {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// shell is one bash process running a lab's commands. Each command's output
// goes to a file of its own; its exit status comes back on fd 3.
type shell struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	status chan string
	dir    string
	n      int
}

func startShell(t *testing.T, dir string, env []string) *shell {
	t.Helper()
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	sh := &shell{cmd: exec.Command("bash", "--noprofile", "--norc"), status: make(chan string), dir: dir}
	sh.cmd.Dir, sh.cmd.Env = dir, env
	sh.cmd.ExtraFiles = []*os.File{wr} // fd 3
	newProcessGroup(sh.cmd)
	if sh.stdin, err = sh.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sh.cmd.Start(); err != nil {
		t.Fatalf("start bash: %v", err)
	}
	wr.Close()
	go func() {
		defer close(sh.status)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			sh.status <- sc.Text()
		}
	}()
	// Whatever a failed lab left running goes with its process group.
	t.Cleanup(func() {
		killProcessGroup(sh.cmd.Process.Pid)
		sh.cmd.Wait()
	})
	return sh
}

// exec runs one command and returns its output and exit status.
func (sh *shell) exec(t *testing.T, cmd string, line int) (string, int) {
	t.Helper()
	sh.n++
	out := filepath.Join(sh.dir, fmt.Sprintf(".step-%d.out", sh.n))
	// The command's own fd 3 is closed, so that the servers it starts do not
	// hold the status pipe; its stdin is empty, so that it cannot read the
	// commands that follow.
	fmt.Fprintf(sh.stdin, "{\n%s\n} </dev/null >%q 2>&1 3>&-; echo $? >&3\n", cmd, out)
	select {
	case st, ok := <-sh.status:
		b, _ := os.ReadFile(out)
		os.Remove(out)
		if !ok {
			t.Fatalf("walkthrough.md:%d: %s\nthe shell exited; output:\n%s", line, cmd, b)
		}
		code, err := strconv.Atoi(st)
		if err != nil {
			t.Fatalf("walkthrough.md:%d: exit status %q", line, st)
		}
		return string(b), code
	case <-time.After(stepTimeout):
		b, _ := os.ReadFile(out)
		t.Fatalf("walkthrough.md:%d: %s\nstill running after %v; output so far:\n%s\n%s", line, cmd, stepTimeout, b, sh.logs())
		return "", 0
	}
}

// logs returns the logs the lab's servers wrote under lab-data, for a
// failure's message.
func (sh *shell) logs() string {
	files, _ := filepath.Glob(filepath.Join(sh.dir, "lab-data", "*.log"))
	var b strings.Builder
	for _, f := range files {
		c, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "--- %s:\n%s\n", filepath.Base(f), tail(c, 60))
	}
	return b.String()
}

// close ends the shell, which must have nothing left running: a lab stops
// the servers it started.
func (sh *shell) close(t *testing.T) {
	t.Helper()
	sh.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- sh.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the lab's shell: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("the lab's shell did not exit")
	}
	if processGroupAlive(sh.cmd.Process.Pid) {
		t.Errorf("the lab left processes running; stop every server it starts (kill $server; wait $server)")
	}
}

// TestWalkthroughConvention holds the reading of the page to the convention
// TestWalkthrough documents: which blocks run, how a command's lines join,
// which comments are checks, and how an output line is matched.
func TestWalkthroughConvention(t *testing.T) {
	page := filepath.Join(t.TempDir(), "page.md")
	doc := "# Title\n\n```sh\nnot a lab\n```\n\n## Lab 1: one (5 minutes)\n\n" +
		"```sh\n# prose\ncurl -s a \\\n  -d b\n# repeat until → ready\n# → done\n\nfalse\n# exit status → 1\n```\n\n" +
		"```go\nnot sh\n```\n\n## Beyond\n\n```sh\nnot run\n```\n"
	if err := os.WriteFile(page, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	labs := parseWalkthrough(t, page)
	if len(labs) != 1 || labs[0].slug() != "lab_1" || len(labs[0].steps) != 2 {
		t.Fatalf("parsed %+v, want lab_1 with two commands", labs)
	}
	first, second := labs[0].steps[0], labs[0].steps[1]
	if first.cmd != "curl -s a  -d b" || first.until != "ready" || len(first.expect) != 1 || first.expect[0] != "done" || first.exit != 0 {
		t.Errorf("first command %+v", first)
	}
	if second.cmd != "false" || second.exit != 1 || second.until != "" || second.expect != nil {
		t.Errorf("second command %+v", second)
	}

	out := "  lost                   10\n  duplicated             0\n{\"id\":\"x\",\"status\":\"Failed\",\"error\":{\"code\":\"DeadLettered\"}}\n"
	for want, has := range map[string]bool{
		"lost 10":           true,
		"lost 0":            false, // not a prefix of another number
		"duplicated 0":      true,  // blanks count as one
		`"status":"Failed"`: true,
		`{"id":"…","status":"Failed","error":{"code":"DeadLettered"`: true,
		`"status":"…"code":"NotFound"`:                               false,
		"lost … duplicated":                                          false, // … stays within one line
	} {
		if got := outputHas(out, want); got != has {
			t.Errorf("outputHas(%q) = %v, want %v", want, got, has)
		}
	}
}
