package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// ProblemListener wraps ln so that the errors net/http answers by itself,
// before any handler runs, are problem documents too: a request line it
// cannot parse (a malformed percent-escape, say: 400), headers over
// http.Server.MaxHeaderBytes (431), a transfer encoding it does not know
// (501). net/http writes those as one canned text/plain response straight to
// the connection; the wrapper recognises that exact form and sends the same
// status as application/problem+json instead, with the reason net/http gave
// as the detail. Every other write passes through untouched.
func ProblemListener(ln net.Listener) net.Listener { return problemListener{ln} }

type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return problemConn{c}, nil
}

type problemConn struct{ net.Conn }

// cannedHeaders is what net/http puts between the status line and the body
// of the responses it writes itself (net/http's server.go, errorHeaders).
const cannedHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c problemConn) Write(p []byte) (int, error) {
	status, reason, ok := cannedError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	typ := ProblemBadRequest
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		typ, reason = ProblemHeadersTooLarge, fmt.Sprintf("the request's headers are over %d bytes", maxHeaderBytes)
	case http.StatusNotImplemented:
		typ = ProblemNotImplemented
	}
	body, err := json.Marshal(newProblem(status, typ, reason))
	if err != nil {
		return c.Conn.Write(p)
	}
	fmt.Fprintf(c.Conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		status, http.StatusText(status), ProblemContentType, len(body))
	if _, err := c.Conn.Write(body); err != nil {
		return 0, err
	}
	return len(p), nil
}

// maxHeaderBytes is http.Server's default bound on a request's headers,
// which Dropoff keeps.
const maxHeaderBytes = http.DefaultMaxHeaderBytes

// cannedError recognises a response net/http wrote by itself, and returns
// its status and the reason it gave.
func cannedError(p []byte) (status int, reason string, ok bool) {
	rest, found := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !found {
		return 0, "", false
	}
	line, body, found := bytes.Cut(rest, []byte(cannedHeaders))
	if !found || len(line) < 3 {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(line[:3]))
	if err != nil || status < 400 {
		return 0, "", false
	}
	reason = string(body)
	if _, after, found := strings.Cut(reason, ": "); found {
		reason = after // "400 Bad Request: missing required Host header"
	} else if strings.HasPrefix(reason, strconv.Itoa(status)+" ") {
		reason = "the request could not be read as HTTP (a malformed request line or header, such as an invalid percent-escape in the path)"
	}
	return status, reason, true
}
