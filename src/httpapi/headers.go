package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// ETags are a shipment's version in quotes: "3". They are strong: version 3
// of a shipment is one exact representation.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// parseIfMatch reads If-Match: exactly one strong ETag this API issues, a
// quoted positive version without leading zeros. It returns 0 when the header
// is absent. "*", weak tags (W/"3") and lists are refused: a command must name
// the one version it was written against.
func parseIfMatch(h http.Header) (int64, error) {
	values := h.Values("If-Match")
	if len(values) == 0 {
		return 0, nil
	}
	const msg = `must be one version in quotes, such as "3" (the ETag of a GET); *, W/ and lists are not accepted`
	if len(values) > 1 {
		return 0, invalid("If-Match", msg)
	}
	v := strings.TrimSpace(values[0])
	if len(v) < 3 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, invalid("If-Match", msg)
	}
	digits := v[1 : len(v)-1]
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != digits {
		return 0, invalid("If-Match", msg)
	}
	return n, nil
}

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// parseIdempotencyKey reads Idempotency-Key (1–255 printable ASCII
// characters) and returns the hex SHA-256 of it, or "" when it is absent.
// Only the digest travels on: it is all the worker needs to compare keys.
func parseIdempotencyKey(h http.Header) (string, error) {
	values := h.Values("Idempotency-Key")
	if len(values) == 0 {
		return "", nil
	}
	if len(values) > 1 {
		return "", invalid("Idempotency-Key", "must be given once")
	}
	key := values[0]
	if key == "" || len(key) > maxIdempotencyKey {
		return "", invalid("Idempotency-Key", "must be 1 to %d characters long", maxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", invalid("Idempotency-Key", "may contain only printable ASCII characters")
		}
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:]), nil
}

// noneMatch reports whether If-None-Match matches tag. It uses the weak
// comparison RFC 9110 prescribes for this header: W/"3" matches "3".
func noneMatch(h http.Header, tag string) bool {
	for _, v := range h.Values("If-None-Match") {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == tag {
				return true
			}
		}
	}
	return false
}
