package servicebus

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/defaults"
)

// Config says which queue to use and how it is configured. Set exactly one of
// Namespace and ConnectionString.
type Config struct {
	// Namespace is the fully qualified namespace, e.g.
	// dropoff-x.servicebus.windows.net, reached with Entra ID tokens from
	// Credential. This is the production setting: no keys anywhere.
	Namespace string
	// Credential issues the tokens for Namespace. nil: azidentity's
	// DefaultAzureCredential, which tries a managed identity and then the
	// developer's logins; a deployment passes a ManagedIdentityCredential so
	// that it can never fall through to the latter.
	Credential azcore.TokenCredential
	// ConnectionString authenticates with a shared access key. It is how the
	// emulator is reached ("…;UseDevelopmentEmulator=true;", plain AMQP).
	ConnectionString string
	// Queue is the session-enabled queue; default "shipment-commands".
	Queue string
	// Settings describe the queue as deployed. Service Bus owns these
	// properties; the adapter reports them (Settings) and times lock renewal
	// from LockDuration. A zero value means the queue Dropoff deploys
	// (DefaultSettings()); otherwise each zero field takes its default, except
	// DeadLetterOnExpiration, which is taken as given.
	Settings bus.Settings
	// ReadSettings asks the service for the queue's properties at Open, in
	// place of Settings, and refuses a queue without sessions. It needs the
	// Manage right (the Data Owner role, or a key with Manage); when the call
	// fails the adapter logs why and keeps Settings. Off by default: the
	// command API and the worker run with send and receive rights only, and
	// the SDK's management client speaks HTTPS to the namespace's host,
	// where the emulator does not listen.
	ReadSettings bool
	// ReceiveTimeout bounds each receive from the dead-letter queue while
	// resubmitting or purging: a receive that gets nothing for this long means
	// "nothing more to take". Default 5s. (Session.Receive waits as long as
	// its caller's context says.)
	ReceiveTimeout time.Duration
	// ResubmitScanLimit caps how many dead-lettered messages
	// ResubmitDeadLetter locks while looking for the one asked for; default
	// 1000. The scan also stops after LockDuration/2, before the locks it
	// holds run out.
	ResubmitScanLimit int

	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time      // nil: time.Now
	// NewID makes the message id of a resubmitted copy; nil: a random UUID.
	NewID func() string
}

// DefaultQueue is the queue Dropoff deploys.
const DefaultQueue = "shipment-commands"

// DefaultSettings returns the queue properties docs/bus.md asks for, which
// the deployment templates set. The emulator cannot match them all (its
// DefaultMessageTimeToLive is at most an hour): give it its own Settings.
func DefaultSettings() bus.Settings {
	return bus.Settings{
		MaxDeliveryCount:       10,
		LockDuration:           60 * time.Second,
		DuplicateWindow:        10 * time.Minute,
		DefaultTimeToLive:      24 * time.Hour,
		DeadLetterOnExpiration: true,
	}
}

// withDefaults fills unset fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Namespace == "" && c.ConnectionString == "":
		return c, errors.New("servicebus: config: set Namespace or ConnectionString")
	case c.Namespace != "" && c.ConnectionString != "":
		return c, errors.New("servicebus: config: set Namespace or ConnectionString, not both")
	}
	if c.Queue == "" {
		c.Queue = DefaultQueue
	}
	c.Settings = settingsWithDefaults(c.Settings)
	if c.Settings.LockDuration < time.Second {
		return c, errors.New("servicebus: config: Settings.LockDuration under a second (Service Bus allows 5s to 5m)")
	}
	err := defaults.Fill("servicebus: config",
		defaults.Of("ReceiveTimeout", &c.ReceiveTimeout, 5*time.Second),
		defaults.Of("ResubmitScanLimit", &c.ResubmitScanLimit, 1000))
	if err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = uuid.NewString
	}
	return c, nil
}

func settingsWithDefaults(s bus.Settings) bus.Settings {
	d := DefaultSettings()
	if s == (bus.Settings{}) {
		return d
	}
	if s.MaxDeliveryCount <= 0 {
		s.MaxDeliveryCount = d.MaxDeliveryCount
	}
	if s.LockDuration <= 0 {
		s.LockDuration = d.LockDuration
	}
	if s.DuplicateWindow <= 0 {
		s.DuplicateWindow = d.DuplicateWindow
	}
	if s.DefaultTimeToLive <= 0 {
		s.DefaultTimeToLive = d.DefaultTimeToLive
	}
	return s
}
