package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/servicebus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
	"github.com/dropoff-dev/dropoff/src/store/sqlserver"
	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// emulatorConnection is a connection string in the emulator's form; opening
// the adapter with it dials nothing.
const emulatorConnection = "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"

func testConfig(t *testing.T, args ...string) config {
	t.Helper()
	c, err := parseConfig("serve", append([]string{"--data-dir", t.TempDir()}, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testOpener(c config) opener {
	return opener{c: c, auth: &azureAuth{c: c}, logger: slog.New(slog.DiscardHandler)}
}

// The Service Bus adapter works with the queue as deployed (a 1m lock, the
// Bicep queue's), never with the embedded queue's 10s default; each flag
// still overrides its setting.
func TestQueueSettingsBelongToTheAdapter(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want bus.Settings
	}{
		{"embedded", nil, bus.Settings{MaxDeliveryCount: 10, LockDuration: embeddedLockDuration,
			DuplicateWindow: 10 * time.Minute, DefaultTimeToLive: 24 * time.Hour, DeadLetterOnExpiration: true}},
		{"service bus", []string{"--servicebus-connection-string", emulatorConnection}, servicebus.DefaultSettings()},
		{"service bus, flags", []string{"--servicebus-connection-string", emulatorConnection,
			"--lock-duration", "30s", "--max-delivery-count", "3", "--queue-ttl", "1h", "--duplicate-window", "5m"},
			bus.Settings{MaxDeliveryCount: 3, LockDuration: 30 * time.Second, DuplicateWindow: 5 * time.Minute,
				DefaultTimeToLive: time.Hour, DeadLetterOnExpiration: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, closeQ, err := testOpener(testConfig(t, tt.args...)).queue(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer closeQ()
			got := q.(interface{ Settings() bus.Settings }).Settings()
			if got != tt.want {
				t.Errorf("settings = %+v, want %+v", got, tt.want)
			}
		})
	}
	if servicebus.DefaultSettings().LockDuration == embeddedLockDuration {
		t.Error("the Service Bus default lock equals the embedded one: this test could not tell them apart")
	}
}

// The worker paces itself by its bus: milliseconds on the embedded queue,
// seconds on Service Bus, and a flag overrides each timing.
func TestWorkerPacingBelongsToTheAdapter(t *testing.T) {
	embedded, sb := (&sqlitebus.Queue{}).Pacing(), (&servicebus.Bus{}).Pacing()
	if sb.IdleTimeout < time.Second || sb.AcceptTimeout < sb.IdleTimeout || sb.MaxSessionHold < time.Second {
		t.Errorf("Service Bus pacing %+v: want seconds (a receive's first message costs a network round trip)", sb)
	}
	tests := []struct {
		name string
		args []string
		pace bus.Pacing
		want bus.Pacing
	}{
		{"embedded", nil, embedded, embedded},
		{"service bus", nil, sb, sb},
		{"flags", []string{"--worker-idle-timeout", "150ms", "--worker-session-hold", "3s", "--worker-accept-timeout", "7s"}, sb,
			bus.Pacing{IdleTimeout: 150 * time.Millisecond, MaxSessionHold: 3 * time.Second, AcceptTimeout: 7 * time.Second}},
	}
	for _, tt := range tests {
		cfg := workerConfig(testConfig(t, tt.args...), tt.pace, nil, nil)
		got := bus.Pacing{AcceptTimeout: cfg.AcceptTimeout, IdleTimeout: cfg.IdleTimeout, MaxSessionHold: cfg.MaxSessionHold}
		if got != tt.want {
			t.Errorf("%s: worker pacing %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// With managed-identity authentication nothing may fall back: not to a
// developer login, not to a key, not to an embedded store.
func TestManagedIdentityRefusesEveryFallback(t *testing.T) {
	dir := t.TempDir()
	mi := []string{"--azure-auth", "managed-identity", "--azure-client-id", "00000000-0000-0000-0000-000000000001", "--data-dir", dir}
	if _, err := parseConfig("worker", []string{"--azure-auth", "managed-identity"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "AZURE_CLIENT_ID") {
		t.Errorf("managed-identity without a client id: %v, want a refusal naming AZURE_CLIENT_ID", err)
	}
	if _, err := parseConfig("worker", []string{"--azure-auth", "password"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("--azure-auth password: accepted")
	}
	sql := "sqlserver://sql-x.database.windows.net?database=write"
	tests := []struct {
		name, want string
		open       func(o opener) error
	}{
		{"embedded queue", "DROPOFF_SERVICEBUS_NAMESPACE", func(o opener) error { _, _, err := o.queue(t.Context()); return err }},
		{"connection string", "connection string holds a key", func(o opener) error {
			o.c.ServiceBusConnectionString = emulatorConnection
			_, _, err := o.queue(t.Context())
			return err
		}},
		{"embedded write database", "DROPOFF_WRITE_DB", func(o opener) error { _, err := o.writeDB(t.Context(), writeDatabaseFor("")); return err }},
		{"SQL login", "no user or password", func(o opener) error {
			_, err := o.writeDB(t.Context(), writeDatabaseFor("sqlserver://sa:secret@sql-x.database.windows.net?database=write"))
			return err
		}},
		{"fedauth workflow", "remove fedauth", func(o opener) error {
			_, err := o.writeDB(t.Context(), writeDatabaseFor(sql+"&FedAuth=ActiveDirectoryDefault"))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.open(testOpener(testConfig(t, mi...)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("open = %v, want a refusal mentioning %q", err, tt.want)
			}
		})
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("refused opens left %d files behind", len(files))
	}
}

func writeDatabaseFor(setting string) database {
	return database{name: "write database", setting: setting, env: "DROPOFF_WRITE_DB", file: "write.db", conns: 2}
}

// openRetrying waits out what passes (a server not up yet, a schema dbinit
// has not created) and gives up at once on what does not.
func TestOpenRetryingWaitsOnlyForWhatPasses(t *testing.T) {
	var waited []string
	o := testOpener(testConfig(t))
	o.retry = backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond}
	o.waiting = func(what string) { waited = append(waited, what) }
	attempts := 0
	v, err := openRetrying(t.Context(), o, "write database", func() (int, error) {
		attempts++
		switch attempts {
		case 1:
			return 0, fmt.Errorf("sqlserver: connect: %w: login failed", sqlserver.ErrUnreachable)
		case 2:
			return 0, fmt.Errorf("no schema yet (%w)", sqlserver.ErrSchemaBehind)
		}
		return 42, nil
	})
	if v != 42 || err != nil || attempts != 3 {
		t.Fatalf("openRetrying = %d, %v after %d attempts, want 42, nil after 3", v, err, attempts)
	}
	if want := []string{"waiting for the write database", "waiting for the write database", ""}; fmt.Sprint(waited) != fmt.Sprint(want) {
		t.Errorf("reported waiting %q, want %q", waited, want)
	}
	attempts = 0
	_, err = openRetrying(t.Context(), o, "write database", func() (int, error) {
		attempts++
		return 0, fmt.Errorf("migration 3: %w", errors.New("syntax error"))
	})
	if err == nil || attempts != 1 {
		t.Errorf("a failed migration: %v after %d attempts, want its error after 1", err, attempts)
	}
}

// A process listens before it opens anything: a taken port fails at once
// and leaves no store behind.
func TestTakenPortCreatesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	err = run(t.Context(), []string{"serve", "--addr", ln.Addr().String(), "--data-dir", dir}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("serve on a taken port = %v, want a listen error", err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("a failed start left %d files in the data directory", len(files))
	}
}

// While a role waits for its SQL Server database (down, or without its
// schema, as before dbinit has run on a first deployment), it is alive and
// says it is not ready, instead of exiting and being restarted.
func TestWaitingForTheDatabaseIsAliveButNotReady(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String() // nothing listens here once closed
	ln.Close()
	sink := &logSink{}
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"projector", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json",
		"--write-db", "sqlserver://" + closed + "?database=write&dial+timeout=1"}
	c, err := parseConfig(args[0], args[1:], func(string) string { return "" }, sink)
	if err != nil {
		t.Fatal(err)
	}
	m := newMain(c, newLogger(c, sink), rolesOf(args[0], c.Mode), telemetry.Tracing{})
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	url := m.URL() // it listens at once, before its stores open
	client := apiClient(t)
	get := func(path string) (int, string) {
		resp, err := client.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(sink.String(), "cannot open the write database; retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged within 30s:\n%s", sink)
		}
		time.Sleep(10 * time.Millisecond) // polling, with the deadline above
	}
	if status, _ := get("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while waiting: %d, want 200", status)
	}
	if status, body := get("/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "waiting for the write database") {
		t.Errorf("/readyz while waiting: %d %s, want 503 saying it waits for the write database", status, body)
	}
	cancel()
	select {
	case <-m.Done():
		if err := m.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run after shutdown while waiting = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a role waiting for its database did not shut down within 30s")
	}
}

// A process logs the queue's settings in effect when it opens the queue.
func TestQueueSettingsAreLogged(t *testing.T) {
	s := startSystem(t, "--lock-duration", "7s")
	if logs := s.logs.String(); !strings.Contains(logs, `"msg":"bus: embedded session queue"`) || !strings.Contains(logs, `"lock_duration":"7s"`) {
		t.Errorf("no line with the queue's settings:\n%s", logs)
	}
}
