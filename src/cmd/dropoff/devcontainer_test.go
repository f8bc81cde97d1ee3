package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"

	"github.com/dropoff-dev/dropoff/src/bus/servicebus"
)

// The devcontainer, the emulator's configuration and the program agree.
// One definition of the queue, servicebus.DefaultSettings(), is checked
// everywhere: Bicep creates it as it is (tests/deploy), and the emulator's
// main queue has it wherever the emulator's ranges allow, the devcontainer
// telling Dropoff where they do not.

// emulatorConfig is what the tests read of servicebus/Config.json.
type emulatorConfig struct {
	UserConfig struct {
		Namespaces []struct {
			Name   string
			Queues []struct {
				Name       string
				Properties emulatorQueue
			}
			Topics *[]any
		}
		Logging struct{ Type string }
	}
}

type emulatorQueue struct {
	DeadLetteringOnMessageExpiration    bool
	DefaultMessageTimeToLive            string
	DuplicateDetectionHistoryTimeWindow string
	LockDuration                        string
	MaxDeliveryCount                    int
	RequiresDuplicateDetection          bool
	RequiresSession                     bool
	// Dropoff forwards nothing: its dead letters stay where the admin
	// routes look for them.
	ForwardTo, ForwardDeadLetteredMessagesTo string
}

// The emulator's documented limits.
var emulatorRange = struct{ lock, ttl, window [2]time.Duration }{
	lock:   [2]time.Duration{5 * time.Second, 5 * time.Minute},
	ttl:    [2]time.Duration{5 * time.Minute, time.Hour},
	window: [2]time.Duration{5 * time.Second, 5 * time.Minute},
}

func TestEmulatorConfigKeepsToTheEmulatorAndToTheCode(t *testing.T) {
	raw, err := os.ReadFile("../../../.devcontainer/servicebus/Config.json")
	if err != nil {
		t.Fatal(err)
	}
	var c emulatorConfig
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("Config.json: %v", err)
	}
	ns := c.UserConfig.Namespaces
	if len(ns) != 1 || ns[0].Name != "sbemulatorns" || ns[0].Topics == nil {
		t.Fatalf("Config.json: want exactly one namespace, sbemulatorns, with Topics (may be empty)")
	}
	switch c.UserConfig.Logging.Type {
	case "Console", "File", "File,Console":
	default:
		t.Errorf("Logging.Type %q, want Console, File or File,Console", c.UserConfig.Logging.Type)
	}
	env := devcontainerEnv(t)
	queues := map[string]emulatorQueue{}
	for _, q := range ns[0].Queues {
		queues[q.Name] = q.Properties
		checkEmulatorRanges(t, q.Name, q.Properties)
	}
	main, ok := queues[env["DROPOFF_SERVICEBUS_QUEUE"]]
	if !ok {
		t.Fatalf("DROPOFF_SERVICEBUS_QUEUE %q is not a queue of Config.json", env["DROPOFF_SERVICEBUS_QUEUE"])
	}
	want := servicebus.DefaultSettings()
	ttl, window := clamp(want.DefaultTimeToLive, emulatorRange.ttl), clamp(want.DuplicateWindow, emulatorRange.window)
	wantQueue := emulatorQueue{
		DeadLetteringOnMessageExpiration:    want.DeadLetterOnExpiration,
		DefaultMessageTimeToLive:            iso(ttl),
		DuplicateDetectionHistoryTimeWindow: iso(window),
		LockDuration:                        iso(want.LockDuration),
		MaxDeliveryCount:                    want.MaxDeliveryCount,
		RequiresDuplicateDetection:          true,
		RequiresSession:                     true,
	}
	if main != wantQueue {
		t.Errorf("the emulator's queue %s = %+v, want %+v (the code's queue, within the emulator's ranges)", env["DROPOFF_SERVICEBUS_QUEUE"], main, wantQueue)
	}
	// Where the emulator's queue differs from the code's, the devcontainer says so.
	for name, w := range map[string]time.Duration{"DROPOFF_QUEUE_TTL": ttl, "DROPOFF_DUPLICATE_WINDOW": window} {
		got, err := time.ParseDuration(env[name])
		if err != nil || got != w {
			t.Errorf("devcontainer %s = %q, want %v, the emulator queue's", name, env[name], w)
		}
	}
	test := env["DROPOFF_TEST_SERVICEBUS_QUEUE"]
	if _, ok := queues[test]; !ok || test == env["DROPOFF_SERVICEBUS_QUEUE"] {
		t.Errorf("DROPOFF_TEST_SERVICEBUS_QUEUE %q: want a queue of Config.json other than Dropoff's", test)
	}
}

func checkEmulatorRanges(t *testing.T, name string, q emulatorQueue) {
	t.Helper()
	for _, f := range []struct {
		what, v string
		r       [2]time.Duration
	}{{"LockDuration", q.LockDuration, emulatorRange.lock}, {"DefaultMessageTimeToLive", q.DefaultMessageTimeToLive, emulatorRange.ttl},
		{"DuplicateDetectionHistoryTimeWindow", q.DuplicateDetectionHistoryTimeWindow, emulatorRange.window}} {
		d, err := parseISO(f.v)
		if err != nil || d < f.r[0] || d > f.r[1] {
			t.Errorf("queue %s %s %q: want %v to %v (the emulator's range)", name, f.what, f.v, f.r[0], f.r[1])
		}
	}
	if q.MaxDeliveryCount < 1 || q.MaxDeliveryCount > 10 {
		t.Errorf("queue %s MaxDeliveryCount %d: want 1 to 10", name, q.MaxDeliveryCount)
	}
	if !q.RequiresSession {
		t.Errorf("queue %s: Dropoff's queues need sessions", name)
	}
}

// Every variable the devcontainer sets for Dropoff is one dropoff reads, and
// dropoff accepts them; the others are the live suites' own.
func TestDevcontainerSetsOnlyWhatDropoffReads(t *testing.T) {
	env := devcontainerEnv(t)
	reads := map[string]bool{}
	for _, s := range settings {
		reads[s.env] = true
	}
	testVars := map[string]string{ // read by the live suites, in these files
		"DROPOFF_TEST_SERVICEBUS_CONNECTION_STRING":       "../../bus/servicebus/servicebus_test.go",
		"DROPOFF_TEST_SERVICEBUS_ADMIN_CONNECTION_STRING": "../../bus/servicebus/servicebus_test.go",
		"DROPOFF_TEST_SERVICEBUS_QUEUE":                   "../../bus/servicebus/servicebus_test.go",
		"DROPOFF_TEST_SQLSERVER":                          "../../store/sqlserver/sqlserver_test.go",
	}
	for k := range env {
		if file, ok := testVars[k]; ok {
			body, _ := os.ReadFile(file)
			if !strings.Contains(string(body), k) {
				t.Errorf("%s is set for the live suites, but %s does not mention it", k, filepath.Base(file))
			}
			continue
		}
		if !reads[k] {
			t.Errorf("the devcontainer sets %s, which dropoff does not read", k)
		}
	}
	if _, err := parseConfig("serve", nil, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Errorf("dropoff refuses the devcontainer's configuration: %v", err)
	}
	for _, k := range []string{"DROPOFF_SERVICEBUS_CONNECTION_STRING", "DROPOFF_WRITE_DB", "DROPOFF_READ_DB"} {
		if env[k] == "" {
			t.Errorf("the devcontainer does not set %s: go run ./src/cmd/dropoff would use the embedded stores", k)
		}
	}
}

// devcontainerEnv is the dev container's environment as compose resolves it.
func devcontainerEnv(t *testing.T) map[string]string {
	t.Helper()
	dir, _ := filepath.Abs("../../../.devcontainer")
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")}, cli.WithWorkingDirectory(dir), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	app, ok := p.Services["app"]
	if !ok {
		t.Fatal("compose.yaml has no app service")
	}
	env := map[string]string{}
	for k, v := range app.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

func clamp(d time.Duration, r [2]time.Duration) time.Duration { return min(max(d, r[0]), r[1]) }

// iso and parseISO write and read the ISO 8601 durations of Config.json.
func iso(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("PT%dH", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("PT%dM", d/time.Minute)
	}
	return fmt.Sprintf("PT%dS", d/time.Second)
}

func parseISO(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "PT")
	if !ok || len(rest) < 2 {
		return 0, fmt.Errorf("%q: want PT<n>H, PT<n>M or PT<n>S", s)
	}
	n, err := strconv.Atoi(rest[:len(rest)-1])
	unit := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}[rest[len(rest)-1]]
	if err != nil || unit == 0 {
		return 0, fmt.Errorf("%q: want PT<n>H, PT<n>M or PT<n>S", s)
	}
	return time.Duration(n) * unit, nil
}
