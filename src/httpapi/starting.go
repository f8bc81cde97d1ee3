package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Starting is the handler a process serves while its roles start: stores
// opening, a database that is still waking, or a schema that `dropoff migrate`
// or `dropoff dbinit` has not created yet. The process listens first, so that
// its liveness probe passes and it is not restarted over something a restart
// cannot mend; meanwhile:
//
//   - /healthz answers 200 (alive);
//   - /readyz answers 503 not-ready, its detail saying what the process is
//     waiting for (waitingFor, which must name no host or secret: the log has
//     the particulars);
//   - every other request answers 503 unavailable with Retry-After.
//
// The process swaps in the handler of New once its roles are up.
func Starting(waitingFor func() string) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.RedirectTrailingSlash = false
	live := (&health{}).live
	e.GET("/healthz", live)
	e.HEAD("/healthz", live)
	notReady := func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusServiceUnavailable, ProblemNotReady, "starting: "+waitingFor()).
			withHeader("Retry-After", "5"))
	}
	e.GET("/readyz", notReady)
	e.HEAD("/readyz", notReady)
	e.NoRoute(func(c *gin.Context) {
		writeProblem(c, newProblem(http.StatusServiceUnavailable, ProblemUnavailable, "the service is starting; retry later").
			withHeader("Retry-After", "5"))
	})
	return e
}
