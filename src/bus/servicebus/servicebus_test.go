package servicebus_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/bustest"
	"github.com/dropoff-dev/dropoff/src/bus/servicebus"
)

// The live contract suite runs against a queue that exists for it alone,
// named by variables of its own. It never reads the program's variables to
// find a queue (DROPOFF_SERVICEBUS_*: a shell set up to run Dropoff must not
// turn `go test ./...` into a test run on that queue), and refuses the queue
// Dropoff runs on. The devcontainer sets these (docs/devcontainer.md):
//
//	DROPOFF_TEST_SERVICEBUS_CONNECTION_STRING   the emulator (or a namespace, by key)
//	DROPOFF_TEST_SERVICEBUS_NAMESPACE           a namespace, with your Entra ID login
//	DROPOFF_TEST_SERVICEBUS_QUEUE               the test queue (required)
//
// and, for the queue's properties, which the suite's timing depends on, one of
//
//	DROPOFF_TEST_SERVICEBUS_ADMIN_CONNECTION_STRING   the emulator's admin endpoint (port 5300)
//	DROPOFF_TEST_SERVICEBUS_LOCK_DURATION, _MAX_DELIVERY_COUNT, _TTL, _DUPLICATE_WINDOW
//
// or, with a namespace, the Manage right on the queue (the properties are read).
const testVar = "DROPOFF_TEST_SERVICEBUS_"

// liveConfig is the suite's configuration from the environment: ok false
// when no test queue is configured (the suite skips), an error when the
// configuration is unusable or names the production queue.
func liveConfig(getenv func(string) string) (cfg servicebus.Config, ok bool, err error) {
	conn, namespace := getenv(testVar+"CONNECTION_STRING"), getenv(testVar+"NAMESPACE")
	if conn == "" && namespace == "" {
		return cfg, false, nil
	}
	if conn != "" && namespace != "" {
		return cfg, true, fmt.Errorf("set %sCONNECTION_STRING or %sNAMESPACE, not both", testVar, testVar)
	}
	cfg = servicebus.Config{ConnectionString: conn, Namespace: namespace, Queue: getenv(testVar + "QUEUE")}
	return cfg, true, refuseProduction(cfg, getenv)
}

// refuseProduction fails for a queue the program runs on: the queue Dropoff
// deploys by default anywhere, or the queue the program's own variables name
// in the same namespace.
func refuseProduction(cfg servicebus.Config, getenv func(string) string) error {
	switch cfg.Queue {
	case "":
		return fmt.Errorf("set %sQUEUE to the queue the suite may use alone (the devcontainer's is dropoff-test)", testVar)
	case servicebus.DefaultQueue:
		return fmt.Errorf("refusing %s: it is the queue Dropoff runs on; the suite sends, receives and purges dead letters", cfg.Queue)
	}
	prodQueue := getenv("DROPOFF_SERVICEBUS_QUEUE")
	if prodQueue == "" {
		prodQueue = servicebus.DefaultQueue
	}
	sameNamespace := (cfg.Namespace != "" && strings.EqualFold(cfg.Namespace, getenv("DROPOFF_SERVICEBUS_NAMESPACE"))) ||
		(cfg.ConnectionString != "" && endpoint(cfg.ConnectionString) == endpoint(getenv("DROPOFF_SERVICEBUS_CONNECTION_STRING")))
	if sameNamespace && strings.EqualFold(cfg.Queue, prodQueue) {
		return fmt.Errorf("refusing %s: DROPOFF_SERVICEBUS_QUEUE says Dropoff runs on it", cfg.Queue)
	}
	return nil
}

// endpoint is a connection string's Endpoint, lower-cased: which namespace it reaches.
func endpoint(conn string) string {
	for _, part := range strings.Split(conn, ";") {
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(strings.TrimSpace(k), "Endpoint") {
			return strings.ToLower(strings.TrimRight(strings.TrimSpace(v), "/"))
		}
	}
	return ""
}

// TestContract runs the bus contract suite against the test queue. Each
// open is a new Bus, with its own AMQP connection, as a second process would
// have. It declares what Service Bus does where adapters differ (docs/bus.md
// cites Microsoft's documentation for each).
func TestContract(t *testing.T) {
	cfg, ok, err := liveConfig(os.Getenv)
	if !ok {
		t.Skip("Service Bus contract suite: set DROPOFF_TEST_SERVICEBUS_CONNECTION_STRING (the emulator) or DROPOFF_TEST_SERVICEBUS_NAMESPACE, and DROPOFF_TEST_SERVICEBUS_QUEUE, to run it on a test queue")
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg.Settings = testQueueSettings(t, cfg, os.Getenv)
	t.Logf("queue %s: %+v", cfg.Queue, cfg.Settings)
	open := func(t *testing.T) bustest.Queue {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		b, err := servicebus.Open(ctx, cfg)
		if err != nil {
			t.Fatalf("open Service Bus queue: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := b.Close(ctx); err != nil {
				t.Errorf("close Service Bus queue: %v", err)
			}
		})
		return b
	}
	bustest.Run(t, open, bustest.Options{Features: features})
}

// features are Service Bus's declared behaviours:
//   - closing a session does not raise the delivery count of the messages it
//     left unsettled: only an expired lock or an abandon does;
//   - a crashed holder is a session whose renewal stopped, its link still
//     attached, so the service releases nothing until the lock expires
//     (closing the Bus would close the session and release it at once).
var features = bustest.Features{
	CloseRaisesDeliveryCount: false,
	Crash: func(t *testing.T, _ bustest.Queue, s bus.Session) {
		servicebus.StopRenewal(s)
	},
}

// testQueueSettings are the test queue's properties: from the emulator's
// admin endpoint, from explicit variables, or read with the Manage right.
func testQueueSettings(t *testing.T, cfg servicebus.Config, getenv func(string) string) bus.Settings {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if adminConn := getenv(testVar + "ADMIN_CONNECTION_STRING"); adminConn != "" {
		c, err := admin.NewClientFromConnectionString(adminConn, &admin.ClientOptions{
			ClientOptions: azcore.ClientOptions{Transport: plainHTTP{}},
		})
		if err != nil {
			t.Fatalf("admin client for the emulator: %v", err)
		}
		s, err := servicebus.SettingsFrom(ctx, c, cfg.Queue)
		if err != nil {
			t.Fatalf("read the test queue's properties from the admin endpoint: %v", err)
		}
		return s
	}
	if s, ok := settingsFromVars(t, getenv); ok {
		return s
	}
	if cfg.Namespace == "" {
		t.Fatalf("tell the suite the test queue's properties: set %sADMIN_CONNECTION_STRING (the emulator's port 5300) or %sLOCK_DURATION, _MAX_DELIVERY_COUNT, _TTL and _DUPLICATE_WINDOW", testVar, testVar)
	}
	cfg.ReadSettings = true
	b, err := servicebus.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open Service Bus queue: %v", err)
	}
	defer b.Close(ctx)
	return b.Settings()
}

// settingsFromVars reads the explicit setting variables, all or none.
func settingsFromVars(t *testing.T, getenv func(string) string) (bus.Settings, bool) {
	t.Helper()
	lock, deliveries, ttl, window := getenv(testVar+"LOCK_DURATION"), getenv(testVar+"MAX_DELIVERY_COUNT"),
		getenv(testVar+"TTL"), getenv(testVar+"DUPLICATE_WINDOW")
	if lock == "" && deliveries == "" && ttl == "" && window == "" {
		return bus.Settings{}, false
	}
	s := bus.Settings{DeadLetterOnExpiration: getenv(testVar+"DEAD_LETTER_ON_EXPIRATION") != "false"}
	var err error
	for _, f := range []struct {
		name, v string
		dst     *time.Duration
	}{{"LOCK_DURATION", lock, &s.LockDuration}, {"TTL", ttl, &s.DefaultTimeToLive}, {"DUPLICATE_WINDOW", window, &s.DuplicateWindow}} {
		if *f.dst, err = time.ParseDuration(f.v); err != nil {
			t.Fatalf("%s%s=%q: want a duration such as 5s (0 for DUPLICATE_WINDOW: no duplicate detection)", testVar, f.name, f.v)
		}
	}
	if s.MaxDeliveryCount, err = strconv.Atoi(deliveries); err != nil || s.MaxDeliveryCount < 1 {
		t.Fatalf("%sMAX_DELIVERY_COUNT=%q: want a whole number of at least 1", testVar, deliveries)
	}
	return s, true
}

// plainHTTP sends the admin client's requests over HTTP: the emulator's
// admin endpoint has no TLS, and the SDK speaks only HTTPS (the emulator's
// own Go sample does the same).
type plainHTTP struct{}

func (plainHTTP) Do(req *http.Request) (*http.Response, error) {
	clone := req.Clone(req.Context())
	u := *clone.URL
	u.Scheme = "http"
	clone.URL = &u
	return http.DefaultTransport.RoundTrip(clone)
}

// The suite refuses the production queue and never takes the program's
// variables for its own.
func TestLiveConfigRefusesProduction(t *testing.T) {
	emulator := "Endpoint=sb://servicebus;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"
	tests := []struct {
		name    string
		env     map[string]string
		run     bool
		refused string
	}{
		{"nothing set", nil, false, ""},
		{"only the program's variables", map[string]string{"DROPOFF_SERVICEBUS_CONNECTION_STRING": emulator,
			"DROPOFF_SERVICEBUS_NAMESPACE": "x.servicebus.windows.net", "DROPOFF_SERVICEBUS_QUEUE": "dropoff-test"}, false, ""},
		{"no test queue", map[string]string{testVar + "CONNECTION_STRING": emulator}, true, "set " + testVar + "QUEUE"},
		{"the default queue", map[string]string{testVar + "NAMESPACE": "x.servicebus.windows.net", testVar + "QUEUE": "shipment-commands"},
			true, "it is the queue Dropoff runs on"},
		{"the program's queue", map[string]string{testVar + "CONNECTION_STRING": emulator, testVar + "QUEUE": "orders",
			"DROPOFF_SERVICEBUS_CONNECTION_STRING": emulator + " ", "DROPOFF_SERVICEBUS_QUEUE": "Orders"}, true, "DROPOFF_SERVICEBUS_QUEUE says"},
		{"the same queue name elsewhere", map[string]string{testVar + "NAMESPACE": "test.servicebus.windows.net", testVar + "QUEUE": "orders",
			"DROPOFF_SERVICEBUS_NAMESPACE": "prod.servicebus.windows.net", "DROPOFF_SERVICEBUS_QUEUE": "orders"}, true, ""},
		{"the test queue", map[string]string{testVar + "CONNECTION_STRING": emulator, testVar + "QUEUE": "dropoff-test",
			"DROPOFF_SERVICEBUS_CONNECTION_STRING": emulator}, true, ""},
		{"both ways in", map[string]string{testVar + "CONNECTION_STRING": emulator, testVar + "NAMESPACE": "x", testVar + "QUEUE": "q"}, true, "not both"},
	}
	for _, tt := range tests {
		cfg, run, err := liveConfig(func(k string) string { return tt.env[k] })
		switch {
		case run != tt.run:
			t.Errorf("%s: runs %v, want %v", tt.name, run, tt.run)
		case tt.refused == "" && err != nil:
			t.Errorf("%s: refused (%v), want it accepted", tt.name, err)
		case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)):
			t.Errorf("%s: error %v, want a refusal saying %q", tt.name, err, tt.refused)
		case run && err == nil && cfg.Queue == "":
			t.Errorf("%s: accepted with no queue", tt.name)
		}
	}
}
