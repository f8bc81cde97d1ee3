package httpapi

import (
	"embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// The live page: plain HTML, CSS and JavaScript, embedded in the binary, no
// build step and nothing fetched from elsewhere (docs/live.md).
//
//go:embed page/index.html page/live.css page/live.js
var pageFiles embed.FS

// pageSecurity lets the page load only what this server serves.
const pageSecurity = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

// livePage registers the live page's routes that cfg enables: the page and
// its assets where there is a projection to read (the all-in-one process,
// the query API), the event stream where there is a hub, the lab where
// there is a control or a queue.
func livePage(e *gin.Engine, cfg Config) {
	if cfg.Queries != nil {
		e.GET("/", pageFile("page/index.html", "text/html; charset=utf-8"))
		e.GET("/live.css", pageFile("page/live.css", "text/css; charset=utf-8"))
		e.GET("/live.js", pageFile("page/live.js", "text/javascript; charset=utf-8"))
	}
	if cfg.Live != nil { // what the pipeline does is data: the query role's to read
		(&events{hub: cfg.Live, heartbeat: cfg.Heartbeat}).routes(e.Group("", guard(cfg.Auth, cfg.Roles.Read)))
	}
	c := cfg.Lab
	if cfg.Sender != nil || c.Worker != nil || c.Projector != nil || c.WriteDelay != nil || c.RestartWorker != nil {
		l := &lab{controls: c, listen: cfg.ListenAddr, forAdmins: cfg.LabForAdmins && cfg.Auth != nil, sender: cfg.Sender, hub: cfg.Live, ttl: cfg.OperationTTL, now: cfg.Now, newID: cfg.NewID}
		l.routes(e, adminOnly(cfg.Auth, cfg.Roles.Admin))
	}
}

// pageFile serves one embedded file.
func pageFile(name, contentType string) gin.HandlerFunc {
	return func(c *gin.Context) {
		b, err := pageFiles.ReadFile(name)
		if err != nil { // only a bug gets here: the files are embedded
			fail(c, err)
			return
		}
		c.Header("Content-Security-Policy", pageSecurity)
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, contentType, b)
	}
}
