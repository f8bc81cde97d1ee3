package servicebus

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"
	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
)

func TestParseISODuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT1M", time.Minute, true},
		{"PT30S", 30 * time.Second, true},
		{"PT0.5S", 500 * time.Millisecond, true},
		{"P14D", 14 * 24 * time.Hour, true},
		{"P1DT2H3M4S", 26*time.Hour + 3*time.Minute + 4*time.Second, true},
		{"P1W", 7 * 24 * time.Hour, true},
		{"P10675199DT2H48M5.4775807S", math.MaxInt64, true}, // TimeSpan.MaxValue
		{"", 0, false},
		{"P", 0, false},
		{"1M", 0, false},
		{"PT", 0, true},   // nothing after T: zero, harmless
		{"P1M", 0, false}, // months: never written by the service, refused
		{"PTxS", 0, false},
	}
	for _, tt := range tests {
		got, err := parseISODuration(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseISODuration(%q): got %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

type fakeGetter struct {
	resp *admin.GetQueueResponse
	err  error
}

func (f fakeGetter) GetQueue(context.Context, string, *admin.GetQueueOptions) (*admin.GetQueueResponse, error) {
	return f.resp, f.err
}

func TestReadSettings(t *testing.T) {
	queue := func(p admin.QueueProperties) fakeGetter {
		return fakeGetter{resp: &admin.GetQueueResponse{QueueName: "q", QueueProperties: p}}
	}
	deployed := admin.QueueProperties{
		RequiresSession:                     ptr(true),
		RequiresDuplicateDetection:          ptr(true),
		MaxDeliveryCount:                    ptr(int32(5)),
		LockDuration:                        ptr("PT30S"),
		DuplicateDetectionHistoryTimeWindow: ptr("PT5M"),
		DefaultMessageTimeToLive:            ptr("PT1H"),
		DeadLetteringOnMessageExpiration:    ptr(false),
	}
	noDedup := deployed
	noDedup.RequiresDuplicateDetection = ptr(false)
	forever := deployed
	forever.DefaultMessageTimeToLive = ptr("P10675199DT2H48M5.4775807S")
	noSessions := deployed
	noSessions.RequiresSession = ptr(false)
	fallback := DefaultSettings()

	tests := []struct {
		name         string
		getter       fakeGetter
		want         bus.Settings
		wantErr      bool
		wantUnusable bool
	}{
		{"as deployed", queue(deployed), bus.Settings{MaxDeliveryCount: 5, LockDuration: 30 * time.Second,
			DuplicateWindow: 5 * time.Minute, DefaultTimeToLive: time.Hour}, false, false},
		{"no duplicate detection", queue(noDedup), bus.Settings{MaxDeliveryCount: 5, LockDuration: 30 * time.Second,
			DefaultTimeToLive: time.Hour}, false, false},
		{"messages never expire", queue(forever), bus.Settings{MaxDeliveryCount: 5, LockDuration: 30 * time.Second,
			DuplicateWindow: 5 * time.Minute}, false, false},
		{"no sessions", queue(noSessions), fallback, true, true},
		{"no such queue", fakeGetter{}, fallback, true, true},
		{"no right to ask", fakeGetter{err: errors.New("401")}, fallback, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readSettings(t.Context(), tt.getter, "q", fallback)
			var unusable *errQueueUnusable
			if (err != nil) != tt.wantErr || errors.As(err, &unusable) != tt.wantUnusable {
				t.Fatalf("got error %v, want error=%v unusable=%v", err, tt.wantErr, tt.wantUnusable)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Namespace: "x.servicebus.windows.net"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Queue != "shipment-commands" || c.ReceiveTimeout != 5*time.Second || c.Settings != DefaultSettings() {
		t.Errorf("got queue %q, receive timeout %v, settings %+v; want the defaults", c.Queue, c.ReceiveTimeout, c.Settings)
	}
	// Partly set settings keep what is set, fill the rest, and take
	// DeadLetterOnExpiration as given.
	c, err = Config{Namespace: "x", Settings: bus.Settings{LockDuration: 5 * time.Second}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultSettings()
	want.LockDuration, want.DeadLetterOnExpiration = 5*time.Second, false
	if diff := cmp.Diff(want, c.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}

	for _, bad := range []Config{
		{},
		{Namespace: "x", ConnectionString: "y"},
		{Namespace: "x", Settings: bus.Settings{LockDuration: time.Millisecond}},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: got nil, want an error", bad)
		}
	}
}

// TestOpenClose opens the adapter over the real SDK types without a
// network: Open does not dial, and Close must not hang or fail on a client
// that never connected.
func TestOpenClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	b, err := Open(ctx, Config{
		ConnectionString: "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;",
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if b.Settings() != DefaultSettings() {
		t.Errorf("Settings: got %+v, want the defaults", b.Settings())
	}
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := b.Send(ctx, msg("a", "s")); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Send after Close: got %v, want ErrClosed", err)
	}
}

func TestSettingsFromService(t *testing.T) {
	cfg, err := Config{Namespace: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	getter := func(g fakeGetter) func() (queueGetter, error) {
		return func() (queueGetter, error) { return g, nil }
	}
	noSessions := fakeGetter{resp: &admin.GetQueueResponse{QueueProperties: admin.QueueProperties{RequiresSession: ptr(false)}}}
	if _, err := settingsFromService(t.Context(), cfg, getter(noSessions)); err == nil {
		t.Error("queue without sessions: got nil, want Open to fail")
	}
	denied := fakeGetter{err: errors.New("403 Forbidden")}
	got, err := settingsFromService(t.Context(), cfg, getter(denied))
	if err != nil || got != DefaultSettings() {
		t.Errorf("no right to read: got %+v, %v; want the configured settings, nil", got, err)
	}
}

// TestOpenReadSettingsFallsBack: with no management endpoint to reach (the
// SDK's management client speaks HTTPS to the host, where the emulator does
// not listen), Open keeps the configured settings, at once.
func TestOpenReadSettingsFallsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	b, err := Open(ctx, Config{
		ConnectionString: "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;",
		ReadSettings:     true,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close(ctx)
	if b.Settings() != DefaultSettings() {
		t.Errorf("Settings: got %+v, want the defaults", b.Settings())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %v, want a single refused attempt", d)
	}
}
