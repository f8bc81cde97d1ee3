package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/docs"
)

// openAPIContentType is the media type of YAML (RFC 9512).
const openAPIContentType = "application/yaml"

// openAPI answers GET /openapi.yaml with the OpenAPI description of this
// API, docs/openapi.yaml, as it was built into the binary: every role serves
// the contract of the version it runs.
func openAPI(c *gin.Context) {
	c.Data(http.StatusOK, openAPIContentType, docs.OpenAPI)
}
