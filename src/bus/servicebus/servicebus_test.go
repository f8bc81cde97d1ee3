package servicebus_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/bustest"
	"github.com/dropoff-dev/dropoff/src/bus/servicebus"
)

// TestContract runs the bus contract suite against a real Service Bus queue
// (or the emulator) when one is configured, the same settings the program
// reads. Each open is a new Bus, with its own AMQP connection, as a second
// process would have. The queue is shared: the suite isolates itself by
// unique session and message ids.
//
// The suite reads the queue's lock duration, delivery count and time to
// live from Settings(): see queueSettings.
func TestContract(t *testing.T) {
	conn := os.Getenv("DROPOFF_SERVICEBUS_CONNECTION_STRING")
	namespace := os.Getenv("DROPOFF_SERVICEBUS_NAMESPACE")
	if conn == "" && namespace == "" {
		t.Skip("Service Bus contract suite: set DROPOFF_SERVICEBUS_CONNECTION_STRING or DROPOFF_SERVICEBUS_NAMESPACE to run it against a real queue or the emulator")
	}
	if conn != "" {
		namespace = "" // the connection string wins, as in the program
	}
	cfg := servicebus.Config{
		Namespace:        namespace,
		ConnectionString: conn,
		Queue:            os.Getenv("DROPOFF_SERVICEBUS_QUEUE"),
	}
	cfg.Settings = queueSettings(t, cfg)
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
	bustest.Run(t, open, bustest.Options{})
}

// queueSettings reads the queue's properties once, where the credential may
// (Config.ReadSettings), so that every Open of the suite uses them without
// asking again; elsewhere it returns the settings docs/bus.md asks for.
func queueSettings(t *testing.T, cfg servicebus.Config) bus.Settings {
	t.Helper()
	cfg.ReadSettings = true
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b, err := servicebus.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open Service Bus queue: %v", err)
	}
	defer b.Close(ctx)
	s := b.Settings()
	t.Logf("queue settings: %+v", s)
	return s
}
