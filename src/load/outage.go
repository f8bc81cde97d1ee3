package load

import (
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dropoff-dev/dropoff/src/backoff"
)

// notSent reports whether err means the request never reached the server:
// the connection could not be made (refused: the server is down or
// restarting). Such a command cannot have been accepted.
func notSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// refusing reports whether the server answered that it accepts nothing now:
// 503 (a dependency down, starting up, at its limit) or 429. By the API's
// contract nothing was accepted.
func refusing(code int) bool {
	return code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests
}

// outage paces the senders while the server refuses them, so that a restart
// costs a few requests rather than tens of thousands: every refusal in a row
// doubles the wait, from 10ms to 1s, and one answer ends it.
type outage struct{ refusals atomic.Int64 }

var outagePacing = backoff.Policy{Initial: 10 * time.Millisecond, Max: time.Second}

func (o *outage) fail() time.Duration { return outagePacing.Delay(int(o.refusals.Add(1))) }

func (o *outage) ok() {
	if o.refusals.Load() != 0 {
		o.refusals.Store(0)
	}
}
