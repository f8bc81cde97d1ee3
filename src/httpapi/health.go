package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// ReadyCheck is one dependency /readyz checks, such as a database ping.
// Check must return once ctx is done.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// health serves /healthz and /readyz.
type health struct {
	checks  []ReadyCheck
	timeout time.Duration
	logger  *slog.Logger
}

func (h *health) routes(r gin.IRoutes) {
	r.GET("/healthz", h.live)
	r.GET("/readyz", h.ready)
}

// live answers /healthz: the process is up and serving. It touches no
// dependency, so that a database outage does not get every replica restarted.
func (h *health) live(c *gin.Context) {
	writeJSON(c, http.StatusOK, mediaJSON, gin.H{"status": "ok"})
}

// ready answers /readyz: 200 when every check passes within the timeout,
// else 503 naming the checks that failed. The checks run at once, each with
// the whole timeout; their errors are logged here, not sent, since they may
// name hosts and databases.
func (h *health) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), h.timeout)
	defer cancel()
	errs := make([]error, len(h.checks))
	var wg sync.WaitGroup
	for i, rc := range h.checks {
		wg.Go(func() { errs[i] = rc.Check(ctx) })
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, h.checks[i].Name)
			h.logger.WarnContext(ctx, "readiness check failed", "check", h.checks[i].Name, "error", err)
		}
	}
	if len(failed) > 0 {
		p := newProblem(http.StatusServiceUnavailable, ProblemNotReady, "failed: "+strings.Join(failed, ", "))
		p.FailedChecks = failed
		writeProblem(c, p.withHeader("Retry-After", "5"))
		return
	}
	writeJSON(c, http.StatusOK, mediaJSON, gin.H{"status": "ready"})
}
