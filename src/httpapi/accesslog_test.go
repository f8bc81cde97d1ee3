package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A request is logged at debug level, but a 5xx: a dependency's at warn, a
// bug's at error; the duration reads as a duration.
func TestAccessLogLevels(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, func(c *Config) { c.Logger = logger })
	line := func() map[string]any {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		var e map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	h.do(t, req{method: "DELETE", target: "/v1/shipments/s1"})
	if e := line(); e["level"] != "DEBUG" || e["status"] != float64(202) {
		t.Errorf("202: logged %v, want at DEBUG", e)
	}
	if _, err := time.ParseDuration(line()["duration"].(string)); err != nil {
		t.Errorf("duration %v: not a duration a person reads: %v", line()["duration"], err)
	}
	h.do(t, req{method: "GET", target: "/v1/shipments/a%20b"})
	if e := line(); e["level"] != "DEBUG" {
		t.Errorf("400: logged %v, want at DEBUG", e)
	}
	h.sender.err = errors.New("queue down")
	h.do(t, req{method: "DELETE", target: "/v1/shipments/s1"})
	if e := line(); e["level"] != "WARN" || e["status"] != float64(503) || e["error"] == nil {
		t.Errorf("503: logged %v, want at WARN with the cause", e)
	}
}
