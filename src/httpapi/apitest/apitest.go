// Package apitest checks HTTP responses against Dropoff's OpenAPI
// description, docs/openapi.yaml, so that the description cannot drift from
// the code: the tests of src/httpapi validate every response they receive
// with Check, and the system tests of src/cmd/dropoff send every request
// through Transport. It is a test helper, like the contract suites (bustest,
// storetest): only tests import it.
//
// A response is checked against the operation its request matches: its status
// must be one the operation lists, its headers those the response describes,
// its body the schema of its media type. A request that matches no operation
// must have been answered 404 (no such path), 405 (no such method for the
// path, with Allow) or 503 (the process is starting, or at its limit of
// requests at once), each as a problem; so may a request for an operation
// that the process does not serve (the routes of another role), if the
// operation lists no 404 or 405 of its own. HEAD is checked as the HEAD
// operation describes it, without the body.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/dropoff-dev/dropoff/docs"
)

// Checker validates responses against one OpenAPI document. It is safe for
// concurrent use.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
}

// dropoff is Dropoff's document, loaded once per test binary.
var dropoff = sync.OnceValues(func() (*Checker, error) { return New(docs.OpenAPI) })

// Dropoff returns the checker of docs/openapi.yaml.
func Dropoff() (*Checker, error) { return dropoff() }

// New loads an OpenAPI document, which must be valid, and returns its checker.
func New(document []byte) (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("OpenAPI document is not valid: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route OpenAPI document: %w", err)
	}
	return &Checker{doc: doc, router: router}, nil
}

// Check validates the response to req: its status, header and body. The error
// names the request, the status and what does not match.
func (c *Checker) Check(req *http.Request, status int, header http.Header, body []byte) error {
	// The router matches the path as sent, still encoded, as the server does
	// (gin's UseRawPath): an id with an encoded slash is one path segment.
	route, params, err := c.router.FindRoute(req)
	if err == nil && notServed(route.Operation, status) {
		err = fmt.Errorf("%s %s is not served by this process", route.Method, route.Path)
	}
	if err != nil {
		if err := c.checkUnrouted(err, status, header, body); err != nil {
			return fmt.Errorf("%s %s answered %d: %w; the body: %s", req.Method, req.URL.RequestURI(), status, err, excerpt(body))
		}
		return nil
	}
	if err := c.checkRouted(req, route, params, status, header, body); err != nil {
		return fmt.Errorf("%s %s (%s %s in the document) answered %d: %w; the body: %s",
			req.Method, req.URL.RequestURI(), route.Method, route.Path, status, err, excerpt(body))
	}
	return nil
}

// excerpt is as much of a body as an error message shows.
func excerpt(body []byte) string {
	const max = 600
	if len(body) == 0 {
		return "none"
	}
	if len(body) > max {
		return strings.ToValidUTF8(string(body[:max]), "") + "…"
	}
	return string(body)
}

// schemaError words a schema error in one line: where and what, without the
// schema and value the library appends (the body is shown once, whole).
func schemaError(e *openapi3.SchemaError) string {
	if e.Origin != nil || e.Reason == "" {
		return "" // the library's own wording
	}
	if p := e.JSONPointer(); len(p) > 0 && !strings.Contains(e.Reason, "at '") {
		return "at /" + strings.Join(p, "/") + ": " + e.Reason
	}
	return e.Reason
}

func (c *Checker) checkRouted(req *http.Request, route *routers.Route, params map[string]string,
	status int, header http.Header, body []byte) error {
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	opts.WithCustomSchemaErrorFunc(schemaError)
	if req.Method == http.MethodHead {
		// openapi3filter skips HEAD altogether; check the HEAD operation's
		// status and headers as if it were a GET, and no body: a HEAD
		// response has none on the wire.
		req = req.Clone(req.Context())
		req.Method = http.MethodGet
		opts.ExcludeResponseBody = true
		body = nil
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); unschematized[mt] {
		opts.ExcludeResponseBody = true // a stream, or the live page's files: no schema holds them
	}
	if len(body) > 0 && !describesBody(route.Operation, status) {
		return fmt.Errorf("it sent a body (%d bytes) where the document describes none", len(body))
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	// openapi3filter checks nothing of a 304 (nor of a redirect, which
	// Dropoff never sends); its ETag goes unchecked.
	return openapi3filter.ValidateResponse(req.Context(), in)
}

// unschematized are the media types whose bodies the document describes as
// strings only: the event stream, and the live page's HTML, CSS and script.
var unschematized = map[string]bool{"text/event-stream": true, "text/html": true, "text/css": true, "text/javascript": true}

// notServed reports whether status says that the process serves no such
// operation: each role serves only its own routes, and answers the others'
// 404 or 405, as it does any path it does not know.
func notServed(op *openapi3.Operation, status int) bool {
	return (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && op.Responses.Status(status) == nil
}

// describesBody reports whether the operation's response for status has content.
func describesBody(op *openapi3.Operation, status int) bool {
	r := op.Responses.Status(status)
	return r == nil || r.Value == nil || len(r.Value.Content) > 0
}

// unrouted are the answers to a request no operation describes, by status:
// the problem schema its body must match and the headers it must carry.
var unrouted = map[int]struct {
	schema  string
	headers []string
}{
	http.StatusNotFound:           {"NotFoundProblem", nil},
	http.StatusMethodNotAllowed:   {"MethodNotAllowedProblem", []string{"Allow"}},
	http.StatusServiceUnavailable: {"UnavailableProblem", []string{"Retry-After"}},
}

func (c *Checker) checkUnrouted(routeErr error, status int, header http.Header, body []byte) error {
	want, ok := unrouted[status]
	if !ok {
		return fmt.Errorf("no operation of the document matches the request (%v), and %d is not 404, 405 or 503", routeErr, status)
	}
	for _, h := range want.headers {
		if header.Get(h) == "" {
			return fmt.Errorf("no operation of the document matches the request, and the %d has no %s header", status, h)
		}
	}
	if len(body) == 0 {
		return nil // a HEAD
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/problem+json" {
		return fmt.Errorf("no operation of the document matches the request, and the %d is %q, not a problem", status, mt)
	}
	return c.CheckSchema(want.schema, body)
}

// CheckSchema validates a JSON document against the named schema of the
// document's components.
func (c *Checker) CheckSchema(name string, document []byte) error {
	ref := c.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("the document has no schema %s", name)
	}
	var v any
	if err := json.Unmarshal(document, &v); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors(),
		openapi3.SetSchemaErrorMessageCustomizer(schemaError))
	if err != nil {
		return fmt.Errorf("body does not match %s: %w", name, err)
	}
	return nil
}

// Operations lists the document's operations as "METHOD /path/{param}",
// sorted.
func (c *Checker) Operations() []string {
	var ops []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// Enum returns the enum of the named schema of the document's components.
func (c *Checker) Enum(name string) []string {
	ref := c.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return nil
	}
	var out []string
	for _, v := range ref.Value.Enum {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// Transport returns a RoundTripper that sends through base (nil:
// http.DefaultTransport) and checks every response. One that does not match
// the document is an error of RoundTrip, which the client returns, so the
// test that sent the request fails with the reason.
func (c *Checker) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return transport{c: c, base: base}
}

type transport struct {
	c    *Checker
	base http.RoundTripper
}

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := t.c.CheckResponse(req, resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// CheckResponse checks resp, the answer to req, reading its body (but for
// an event stream's, which does not end) and putting it back for the
// caller. A response that does not match is a *MismatchError; a body that
// cannot be read (cut off in transit) is the read's error.
func (c *Checker) CheckResponse(req *http.Request, resp *http.Response) error {
	var body []byte
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		var err error
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read response to %s %s: %w", req.Method, req.URL.Path, err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := c.Check(req, resp.StatusCode, resp.Header, body); err != nil {
		return &MismatchError{err: err}
	}
	return nil
}

// MismatchError is a response that does not match the document.
type MismatchError struct{ err error }

func (e *MismatchError) Error() string {
	return "the response does not match docs/openapi.yaml: " + e.err.Error()
}
func (e *MismatchError) Unwrap() error { return e.err }
