package servicebus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// runtimeGetter reads a queue's runtime properties: *admin.Client.
type runtimeGetter interface {
	GetQueueRuntimeProperties(ctx context.Context, queueName string, options *admin.GetQueueRuntimePropertiesOptions) (*admin.GetQueueRuntimePropertiesResponse, error)
}

var _ runtimeGetter = (*admin.Client)(nil)

var _ bus.BacklogReader = (*Bus)(nil)

// Backlog reads the queue's active message count from its runtime
// properties, through the management endpoint. The age of the oldest message
// is not among them, so OldestAge is zero.
//
// Reading runtime properties takes the Manage right (or a connection
// string's key, as with the emulator). Dropoff's deployed command API holds
// only Data Sender, so there it fails, and the command API does not shed
// load unless it is given that right (docs/bus.md, Backlog).
func (b *Bus) Backlog(ctx context.Context) (bus.Backlog, error) {
	if b.runtime == nil {
		return bus.Backlog{}, errors.New("servicebus: backlog: no management client")
	}
	g, err := b.runtime()
	if err != nil {
		return bus.Backlog{}, fmt.Errorf("servicebus: backlog: %w", err)
	}
	resp, err := g.GetQueueRuntimeProperties(ctx, b.queue, nil)
	if err != nil {
		return bus.Backlog{}, fmt.Errorf("servicebus: backlog of %s: %w", b.queue, err)
	}
	if resp == nil { // the SDK's answer for "no such queue"
		return bus.Backlog{}, fmt.Errorf("servicebus: backlog: queue %s does not exist", b.queue)
	}
	return bus.Backlog{Messages: int64(resp.ActiveMessageCount)}, nil
}

// depthCollector exports the queue's message counts from its runtime
// properties under the embedded queue's metric names, where this identity
// may read them: with the Manage right, or the emulator's key. The first
// read refused for want of the right (401, 403) turns it off for good, with
// one log line: the deployed roles hold no Manage right, and there Azure
// Monitor's ActiveMessages and DeadletteredMessages metrics answer. Any
// other failure skips that scrape's values (the rest of /metrics is served).
type depthCollector struct {
	b                  *Bus
	off                atomic.Bool
	messages, deadLets *prometheus.Desc
}

func newDepthCollector(b *Bus) *depthCollector {
	return &depthCollector{b: b,
		messages: prometheus.NewDesc("dropoff_queue_messages", "Active messages on the queue (Service Bus runtime properties).", nil, nil),
		deadLets: prometheus.NewDesc("dropoff_queue_dead_letters", "Messages in the dead-letter queue (Service Bus runtime properties).", nil, nil),
	}
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.deadLets
}

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	if c.off.Load() || c.b.runtime == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	g, err := c.b.runtime()
	var resp *admin.GetQueueRuntimePropertiesResponse
	if err == nil {
		resp, err = g.GetQueueRuntimeProperties(ctx, c.b.queue, nil)
	}
	var re *azcore.ResponseError
	switch {
	case errors.As(err, &re) && (re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden):
		c.off.Store(true)
		c.b.log.Info("servicebus: queue depth metrics are off: reading the queue's runtime properties needs the Manage right (Azure Monitor has the counts)", "error", err)
		return
	case err != nil:
		c.b.log.Warn("servicebus: cannot read the queue's runtime properties for /metrics", "error", err)
		return
	case resp == nil:
		return
	}
	ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(resp.ActiveMessageCount))
	ch <- prometheus.MustNewConstMetric(c.deadLets, prometheus.GaugeValue, float64(resp.DeadLetterMessageCount))
}
