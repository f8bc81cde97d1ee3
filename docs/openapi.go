// Package docs holds what of Dropoff's documentation the program itself
// uses: the OpenAPI description of its HTTP API, built into the binary so
// that every role serves the contract it implements (GET /openapi.yaml).
//
// It is a package only because go:embed reaches no file outside the
// package's own directory. It imports nothing; src/httpapi serves it, and the
// tests of src/httpapi and src/cmd/dropoff validate responses against it.
package docs

import _ "embed"

// OpenAPI is openapi.yaml, the OpenAPI 3.1 description of the HTTP API.
//
//go:embed openapi.yaml
var OpenAPI []byte
