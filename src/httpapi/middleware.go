package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// limit answers 503 with Retry-After once max requests are in flight, so
// that a surge is refused at once instead of queueing without bound in
// memory; the probes (/healthz, /readyz, /metrics) always pass, so that an
// operator can still see a busy process.
func limit(max int) gin.HandlerFunc {
	slots := make(chan struct{}, max)
	return func(c *gin.Context) {
		if isProbe(c.FullPath()) {
			c.Next()
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			c.Next()
		default:
			writeProblem(c, newProblem(http.StatusServiceUnavailable, ProblemUnavailable,
				fmt.Sprintf("the server is answering its limit of %d requests at once; retry later", max)).
				withHeader("Retry-After", "1"))
		}
	}
}

func isProbe(route string) bool {
	return route == "/healthz" || route == "/readyz" || route == "/metrics"
}

// unmatchedRoute labels requests that matched no route (404, 405), so that
// made-up paths do not each become a time series.
const unmatchedRoute = "unmatched"

// observe logs every request once and records its duration. It runs
// outermost, so it sees the status a panic was turned into. A request is not
// an event: it is logged at debug level (a busy process would otherwise log
// thousands of lines a second), but for a 5xx, the server's fault: a 500
// (a bug) at error level, any other (a dependency down, a limit reached) at
// warn, each with the causes handlers attached (fail does that).
func observe(logger *slog.Logger, m *metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now() // the real clock: a duration, not a timestamp
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		c.Next()
		elapsed := time.Since(start)
		status := c.Writer.Status()
		route := c.FullPath()
		if route == "" {
			route = unmatchedRoute
		}
		method := clientMethod(c.Request)
		m.duration.WithLabelValues(methodLabel(method), route, strconv.Itoa(status)).Observe(elapsed.Seconds())

		level := slog.LevelDebug
		switch {
		case status == http.StatusInternalServerError:
			level = slog.LevelError
		case status > http.StatusInternalServerError:
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("method", method), slog.String("path", c.Request.URL.Path),
			slog.String("route", route), slog.Int("status", status),
			slog.String("duration", elapsed.Round(time.Microsecond).String()), slog.Int("bytes", max(c.Writer.Size(), 0)),
			slog.String("remote", c.Request.RemoteAddr),
		}
		if len(c.Errors) > 0 {
			attrs = append(attrs, slog.String("error", strings.Join(c.Errors.Errors(), "; ")))
		}
		logger.LogAttrs(c.Request.Context(), level, "http request", attrs...)
	}
}

// recoverer turns a panic in a handler into a 500 problem and logs it with
// its stack. http.ErrAbortHandler is let through: it is net/http's way to
// abort a response on purpose.
func recoverer(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logger.ErrorContext(c.Request.Context(), "panic in http handler",
				"method", c.Request.Method, "path", c.Request.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				writeProblem(c, newProblem(http.StatusInternalServerError, ProblemInternal,
					"an unexpected error occurred; it has been logged"))
			}
			c.Abort()
		}()
		c.Next()
	}
}
