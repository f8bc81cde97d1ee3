package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzCommandRequest throws arbitrary bodies, media types, ids and If-Match
// headers at PUT and PATCH. Whatever comes in, the answer must be a 202 or a
// 4xx problem whose status matches — never a 5xx, never a panic — and only a
// 202 may have sent anything.
func FuzzCommandRequest(f *testing.F) {
	f.Add([]byte(validPut), "application/json", "s1", "")
	f.Add([]byte(`{"status":"delivered"}`), "application/merge-patch+json", "s-2", `"3"`)
	f.Add([]byte(`{"weightGrams":1e400}`), "application/json; charset=utf-8", "a/b", "*")
	f.Add([]byte("[\xff]"), "text/plain", "", `W/"1"`)
	f.Fuzz(func(t *testing.T, body []byte, contentType, id, ifMatch string) {
		h := newHarness(t)
		for _, method := range []string{http.MethodPut, http.MethodPatch} {
			r := httptest.NewRequest(method, "/", bytes.NewReader(body))
			r.URL = &url.URL{Path: "/v1/shipments/" + id, RawPath: "/v1/shipments/" + url.PathEscape(id)}
			r.Header.Set("Content-Type", contentType)
			r.Header.Set("If-Match", ifMatch)
			before := len(h.sender.sent())
			w := serve(t, h.handler, r)

			sent := len(h.sender.sent()) - before
			if w.Code == http.StatusAccepted {
				if sent != 1 {
					t.Fatalf("%s: 202 with %d messages sent, want 1", method, sent)
				}
				continue
			}
			if w.Code < 400 || w.Code >= 500 {
				t.Fatalf("%s %q: got status %d, want 202 or 4xx (body %s)", method, id, w.Code, w.Body)
			}
			if sent != 0 {
				t.Fatalf("%s: status %d with %d messages sent, want none", method, w.Code, sent)
			}
			var p Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != w.Code {
				t.Fatalf("%s: status %d with body %q, want a problem with that status", method, w.Code, w.Body)
			}
		}
	})
}
