package load

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Report is the outcome of a run. The JSON names are stable: scripts and CI
// read them.
type Report struct {
	Mode      string  `json:"mode"` // async (202) or sync (200 with the result)
	Target    string  `json:"target"`
	Server    string  `json:"server,omitempty"` // where the target ran: its own process, or the generator's
	Loop      string  `json:"loop"`
	Mix       string  `json:"mix"`
	Shipments int     `json:"shipments"`
	Seconds   float64 `json:"duration_s"` // how long commands were sent

	Sent     int64 `json:"sent"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"` // invalid requests refused with a 4xx, as they must be
	Errors   int64 `json:"errors"`
	// NotAccepted: commands the server surely did not accept (the connection
	// refused, 503, 429), as while it restarts. UnknownFate: requests that
	// failed in transit (a server killed mid-request), which may have been
	// accepted; their shipments are verified for what can still be known.
	NotAccepted  int64            `json:"not_accepted"`
	UnknownFate  int64            `json:"unknown_fate"`
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`

	AcceptedPerSec float64 `json:"accepted_per_sec"`
	AcceptP50      float64 `json:"accept_p50_ms"`
	AcceptP90      float64 `json:"accept_p90_ms"`
	AcceptP99      float64 `json:"accept_p99_ms"`
	AcceptMax      float64 `json:"accept_max_ms"`

	// E2EPerSec is accepted commands over the time from the first send to
	// the end of the drain: the rate the whole pipeline sustained.
	E2EPerSec    float64 `json:"e2e_per_sec"`
	DrainSeconds float64 `json:"drain_s"` // from the end of sending to the end of the drain
	Drained      bool    `json:"drained"`
	// AppliedPerSec is commands applied to the write store per second while
	// commands were sent (in-process only).
	AppliedPerSec *float64 `json:"applied_per_sec"`
	// Spread is how the accepted commands fell on shipments: how many
	// shipments got any, and the most and the mean per shipment that did.
	SpreadShipments int     `json:"spread_shipments"`
	SpreadMax       int     `json:"spread_max"`
	SpreadMean      float64 `json:"spread_mean"`
	// Watched operations were polled until terminal (a sample; see the package doc).
	// Polls is how many GETs that took, and PollsPerCommand its share of
	// the commands sent: what measuring cost the target.
	Watched         int64   `json:"watched"`
	Polls           int64   `json:"polls"`
	PollsPerCommand float64 `json:"polls_per_command"`
	VisibleP50      float64 `json:"visible_p50_ms"`
	VisibleP90      float64 `json:"visible_p90_ms"`
	VisibleP99      float64 `json:"visible_p99_ms"`
	VisibleMax      float64 `json:"visible_max_ms"`

	// CommitsPerCommand is SQLite commits of all stores per accepted command
	// (in-process only; null otherwise).
	CommitsPerCommand *float64 `json:"commits_per_command"`
	// ServerCPUPerCommand is the CPU the target's process spent while
	// commands were sent, per command accepted then (µs; null when unknown).
	// In-process it includes the generator's.
	ServerCPUPerCommand *float64 `json:"server_cpu_us_per_command"`

	Verified             bool  `json:"verified"`
	Lost                 int   `json:"lost"`
	Duplicated           int   `json:"duplicated"`
	OutOfOrder           int   `json:"out_of_order"`
	Unexpected           int   `json:"unexpected"`
	WrongOutcome         int64 `json:"wrong_outcome"`    // operations that ended other than predicted
	StateMismatches      int   `json:"state_mismatches"` // shipments whose final state is not the predicted one
	ProjectionMismatches *int  `json:"projection_mismatches"`
	Unverified           int   `json:"unverified"` // shipments with a command of unknown fate
}

// OK reports whether the run found nothing wrong.
func (rep Report) OK() bool {
	return rep.Errors == 0 && rep.Lost == 0 && rep.Duplicated == 0 && rep.OutOfOrder == 0 &&
		rep.Unexpected == 0 && rep.StateMismatches == 0 &&
		(rep.ProjectionMismatches == nil || *rep.ProjectionMismatches == 0)
}

func (rep *Report) fillSend(r *runner, window time.Duration) {
	for _, m := range r.models {
		if n := len(m.accepted); n > 0 {
			rep.SpreadShipments++
			rep.SpreadMax = max(rep.SpreadMax, n)
		}
	}
	if rep.SpreadShipments > 0 {
		rep.SpreadMean = float64(r.accepted.Load()) / float64(rep.SpreadShipments)
	}
	rep.Seconds = window.Seconds()
	rep.Sent, rep.Accepted, rep.Rejected = r.sent.Load(), r.accepted.Load(), r.rejected.Load()
	rep.AcceptedPerSec = float64(rep.Accepted) / window.Seconds()
	a := r.accept.summary()
	rep.AcceptP50, rep.AcceptP90, rep.AcceptP99, rep.AcceptMax = msf(a.P50), msf(a.P90), msf(a.P99), msf(a.Max)
}

func (rep *Report) fillVisible(r *runner) {
	v := r.visible.summary()
	rep.Watched, rep.Polls = r.watched.Load(), r.polls.Load()
	if rep.Sent > 0 {
		rep.PollsPerCommand = float64(rep.Polls) / float64(rep.Sent)
	}
	rep.VisibleP50, rep.VisibleP90, rep.VisibleP99, rep.VisibleMax = msf(v.P50), msf(v.P90), msf(v.P99), msf(v.Max)
	rep.WrongOutcome = r.wrongOutcome.Load()
	rep.ErrorsByKind, rep.Errors = r.errs.snapshot()
	rep.NotAccepted, rep.UnknownFate = r.notAccepted.Load(), r.unknownFate.Load()
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", msf(d)) }

func orNA(p *float64, format string) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *p)
}

// WriteTable prints the report for people.
func (rep Report) WriteTable(w io.Writer) {
	line := func(k, format string, args ...any) {
		fmt.Fprintf(w, "  %-22s "+format+"\n", append([]any{k}, args...)...)
	}
	fmt.Fprintf(w, "dropoff load: %s mode, %s, %d shipments, mix %s\n", rep.Mode, rep.Loop, rep.Shipments, rep.Mix)
	if rep.Server != "" {
		line("server", "%s", rep.Server)
	}
	line("sent", "%d in %.1fs", rep.Sent, rep.Seconds)
	line("spread", "%d shipments got commands: %.1f each on average, %d at most", rep.SpreadShipments, rep.SpreadMean, rep.SpreadMax)
	line("accepted", "%d (%.0f/s)", rep.Accepted, rep.AcceptedPerSec)
	line("rejected (4xx, wanted)", "%d", rep.Rejected)
	line("errors", "%d%s", rep.Errors, errorKinds(rep.ErrorsByKind))
	if rep.NotAccepted > 0 || rep.UnknownFate > 0 {
		line("not accepted", "%d (refused, 503 or 429: the server was down or refusing)", rep.NotAccepted)
		line("of unknown fate", "%d (failed in transit: maybe accepted)", rep.UnknownFate)
	}
	line("accept latency", "p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms", rep.AcceptP50, rep.AcceptP90, rep.AcceptP99, rep.AcceptMax)
	if rep.Mode == "async" {
		line("visible latency", "p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms  (%d watched)",
			rep.VisibleP50, rep.VisibleP90, rep.VisibleP99, rep.VisibleMax, rep.Watched)
		line("measuring cost", "%d GETs, %.3f per command sent", rep.Polls, rep.PollsPerCommand)
	}
	line("applied while sending", "%s", orNA(rep.AppliedPerSec, "%.0f/s"))
	if rep.Drained {
		line("end to end", "%.0f/s (drained %.1fs after sending stopped)", rep.E2EPerSec, rep.DrainSeconds)
	}
	line("commits per command", "%s", orNA(rep.CommitsPerCommand, "%.2f"))
	line("server CPU per command", "%s", orNA(rep.ServerCPUPerCommand, "%.0f µs"))
	if !rep.Verified {
		line("verification", "skipped")
		return
	}
	line("lost", "%d", rep.Lost)
	line("duplicated", "%d", rep.Duplicated)
	line("out_of_order", "%d", rep.OutOfOrder)
	line("unexpected entries", "%d", rep.Unexpected)
	line("wrong outcomes", "%d", rep.WrongOutcome)
	line("state mismatches", "%d", rep.StateMismatches)
	pm := "n/a"
	if rep.ProjectionMismatches != nil {
		pm = fmt.Sprint(*rep.ProjectionMismatches)
	}
	line("projection ≠ write DB", "%s", pm)
	if rep.Unverified > 0 {
		line("partly verified", "%d shipments with a request of unknown fate: checked for duplicates and order only", rep.Unverified)
	}
}

func errorKinds(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// CompareRow is one line of a comparison: both modes under one write delay.
type CompareRow struct {
	Delay       time.Duration
	Async, Sync Report
}

// WriteCompare prints the side-by-side table of dropoff load --compare.
func WriteCompare(w io.Writer, rows []CompareRow) {
	fmt.Fprintf(w, "%-7s | %-38s | %-28s\n", "", "async (202)", "sync (200 with result)")
	fmt.Fprintf(w, "%-7s | %8s %8s %9s %9s | %8s %8s %9s\n",
		"delay", "p50 ms", "p99 ms", "accept/s", "applied/s", "p50 ms", "p99 ms", "accept/s")
	for _, r := range rows {
		fmt.Fprintf(w, "%-7s | %8.2f %8.2f %9.0f %9s | %8.2f %8.2f %9.0f\n", r.Delay,
			r.Async.AcceptP50, r.Async.AcceptP99, r.Async.AcceptedPerSec, orNA(r.Async.AppliedPerSec, "%.0f"),
			r.Sync.AcceptP50, r.Sync.AcceptP99, r.Sync.AcceptedPerSec)
	}
}
