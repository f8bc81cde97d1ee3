package servicebus

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// What the contract test (package servicebus_test) needs of the adapter's
// insides, and only it: this file is compiled into tests alone.

// StopRenewal stops the lock renewal of s and leaves s open, its link
// attached: as far as the service can tell, its holder has died, and the
// lock runs out on its own (bustest.Features.Crash).
func StopRenewal(s bus.Session) {
	ss := s.(*Session)
	ss.stopRenewal()
	<-ss.renewalDone
}

// SettingsFrom reads queue's properties with c, as Open does with
// Config.ReadSettings: the contract test's way to the emulator's admin
// endpoint, which speaks plain HTTP.
func SettingsFrom(ctx context.Context, c *admin.Client, queue string) (bus.Settings, error) {
	return readSettings(ctx, c, queue, DefaultSettings())
}
