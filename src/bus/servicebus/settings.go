package servicebus

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// queueGetter reads a queue's properties: *admin.Client.
type queueGetter interface {
	GetQueue(ctx context.Context, queueName string, options *admin.GetQueueOptions) (*admin.GetQueueResponse, error)
}

var _ queueGetter = (*admin.Client)(nil)

// errQueueUnusable marks a queue Dropoff cannot work with, as opposed to a
// failure to ask.
type errQueueUnusable struct{ msg string }

func (e *errQueueUnusable) Error() string { return e.msg }

// readSettings asks the service for the queue's properties. Fields the
// service leaves out keep their values from fallback. A queue that is
// missing or has no sessions is refused with *errQueueUnusable: Dropoff's
// ordering rests on sessions, and a queue's RequiresSession cannot be
// changed after it is created.
func readSettings(ctx context.Context, g queueGetter, queue string, fallback bus.Settings) (bus.Settings, error) {
	resp, err := g.GetQueue(ctx, queue, nil)
	if err != nil {
		return fallback, fmt.Errorf("get queue %s: %w", queue, err)
	}
	if resp == nil { // the SDK's answer for "no such queue"
		return fallback, &errQueueUnusable{fmt.Sprintf("queue %s does not exist", queue)}
	}
	p := resp.QueueProperties
	if p.RequiresSession == nil || !*p.RequiresSession {
		return fallback, &errQueueUnusable{fmt.Sprintf("queue %s does not require sessions", queue)}
	}
	s := fallback
	if p.MaxDeliveryCount != nil {
		s.MaxDeliveryCount = int(*p.MaxDeliveryCount)
	}
	if p.DeadLetteringOnMessageExpiration != nil {
		s.DeadLetterOnExpiration = *p.DeadLetteringOnMessageExpiration
	}
	fields := []struct {
		iso *string
		dst *time.Duration
	}{
		{p.LockDuration, &s.LockDuration},
		{p.DuplicateDetectionHistoryTimeWindow, &s.DuplicateWindow},
		{p.DefaultMessageTimeToLive, &s.DefaultTimeToLive},
	}
	for _, f := range fields {
		if f.iso == nil {
			continue
		}
		d, err := parseISODuration(*f.iso)
		if err != nil {
			return fallback, fmt.Errorf("queue %s: %w", queue, err)
		}
		*f.dst = d
	}
	if p.RequiresDuplicateDetection == nil || !*p.RequiresDuplicateDetection {
		s.DuplicateWindow = 0 // no detection: a resent message is a second message
	}
	if s.DefaultTimeToLive == math.MaxInt64 {
		s.DefaultTimeToLive = 0 // the service's "never" (TimeSpan.MaxValue)
	}
	return s, nil
}

// parseISODuration reads the ISO 8601 durations the management API writes,
// such as PT1M, P14D, PT0.5S or P10675199DT2H48M5.4775807S (.NET's
// TimeSpan.MaxValue, far beyond time.Duration: it saturates to MaxInt64).
func parseISODuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("servicebus: duration %q: not ISO 8601", s)
	}
	var total float64 // seconds; float, so the service's "infinite" cannot overflow
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			inTime, rest = true, rest[1:]
			continue
		}
		i := strings.IndexAny(rest, "WDHMS")
		if i <= 0 {
			return 0, fmt.Errorf("servicebus: duration %q: not ISO 8601", s)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("servicebus: duration %q: not ISO 8601", s)
		}
		unit := isoUnit(inTime, rest[i])
		if unit == 0 {
			return 0, fmt.Errorf("servicebus: duration %q: not ISO 8601", s)
		}
		total += n * unit
		rest = rest[i+1:]
	}
	if total*float64(time.Second) >= math.MaxInt64 {
		return math.MaxInt64, nil
	}
	return time.Duration(total * float64(time.Second)), nil
}

// isoUnit is the length in seconds of an ISO 8601 designator: weeks and days
// before the T, hours, minutes and seconds after it (M means months before
// it, which the management API never writes). 0: not a designator here.
func isoUnit(inTime bool, c byte) float64 {
	switch {
	case !inTime && c == 'W':
		return 7 * 86400
	case !inTime && c == 'D':
		return 86400
	case inTime && c == 'H':
		return 3600
	case inTime && c == 'M':
		return 60
	case inTime && c == 'S':
		return 1
	}
	return 0
}
