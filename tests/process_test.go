package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the dropoff executable built once for every test in the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dropoff-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "dropoff")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, "../src/cmd/dropoff")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build dropoff:", err)
		os.Exit(1)
	}
	if err := loadContract(); err != nil {
		fmt.Fprintln(os.Stderr, "load docs/openapi.yaml:", err)
		os.Exit(1)
	}
	code := m.Run()
	if reportMismatches() && code == 0 {
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// isolatedEnv is env without Dropoff's settings and Azure's credentials, so
// that a shell configured to run Dropoff on real services (the devcontainer
// is one) does not turn these kill -9 tests into tests on those services:
// every process here runs on the test's own embedded stores.
func isolatedEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DROPOFF_") && !strings.HasPrefix(kv, "AZURE_") {
			out = append(out, kv)
		}
	}
	return out
}

// proc is one running dropoff process.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	URL  string
	done chan struct{}
	mu   sync.Mutex
	logs bytes.Buffer
}

// start runs `dropoff <subcommand>` on dataDir with a free port and waits until
// it logs the URL it listens on.
func start(t *testing.T, dataDir, subcommand string, extra ...string) *proc {
	t.Helper()
	args := append([]string{subcommand, "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json"}, extra...)
	p := &proc{t: t, cmd: exec.Command(binary, args...), done: make(chan struct{})}
	p.cmd.Env = isolatedEnv(os.Environ())
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start dropoff %s: %v", subcommand, err)
	}
	urls := make(chan string, 1)
	go p.readLogs(stderr, urls)
	t.Cleanup(func() { p.kill() })
	select {
	case u := <-urls:
		p.URL = u
	case <-p.done:
		t.Fatalf("dropoff %s exited before listening:\n%s", subcommand, p.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("dropoff %s did not log its URL within 30s:\n%s", subcommand, p.Logs())
	}
	return p
}

func (p *proc) readLogs(r io.Reader, urls chan<- string) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		p.mu.Lock()
		p.logs.Write(line)
		p.logs.WriteByte('\n')
		p.mu.Unlock()
		var entry struct{ Msg, URL string }
		if json.Unmarshal(line, &entry) == nil && entry.Msg == "dropoff is ready" {
			select {
			case urls <- entry.URL:
			default:
			}
		}
	}
}

// Logs returns what the process has logged so far.
func (p *proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// kill sends SIGKILL: no shutdown code runs, as in a crash or an OOM kill.
func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// stop sends SIGTERM and requires a clean exit within the deadline.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		if runtime.GOOS == "windows" {
			p.kill()
			p.t.Skipf("a graceful stop takes SIGTERM, which Windows cannot send to a process (%v)", err)
		}
		p.t.Fatalf("signal: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			p.t.Fatalf("dropoff did not exit cleanly on SIGTERM: %v\n%s", err, p.Logs())
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		p.t.Fatalf("dropoff did not exit within 30s of SIGTERM:\n%s", p.Logs())
	}
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: checked{}}

// send sends a command and returns the HTTP status and the operation id.
func send(method, url, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var op struct{ ID string }
	if resp.StatusCode == http.StatusAccepted {
		if err := json.NewDecoder(resp.Body).Decode(&op); err != nil {
			return resp.StatusCode, "", err
		}
	}
	return resp.StatusCode, op.ID, nil
}

// getJSON GETs url into v and returns the status.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: decode: %v", url, err)
		}
	}
	return resp.StatusCode
}

type operationBody struct {
	ID, Status, Kind string
	Error            *struct{ Code, Message string }
}

// waitOperations polls until every operation has ended, and returns them.
func waitOperations(t *testing.T, baseURL string, ids []string, deadline time.Duration) map[string]operationBody {
	t.Helper()
	out := make(map[string]operationBody, len(ids))
	end := time.Now().Add(deadline)
	for _, id := range ids {
		for {
			var op operationBody
			status := getJSON(t, baseURL+"/v1/operations/"+id, &op)
			if status == http.StatusOK && (op.Status == "Succeeded" || op.Status == "Failed") {
				out[id] = op
				break
			}
			if time.Now().After(end) {
				t.Fatalf("operation %s not finished within %v (last: HTTP %d, %+v)", id, deadline, status, op)
			}
			time.Sleep(20 * time.Millisecond) // polling interval, with the deadline above
		}
	}
	return out
}

type historyBody struct {
	Items []struct {
		Version     int64
		Type        string
		Status      string
		OperationID string
	}
}
