package bicep

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// unescape decodes the escapes of a single-quoted Bicep string: \' \\ \n \r
// \t \$ and \u{hex}. Bicep rejects any other escape; the grammar accepts it,
// so it is kept as written rather than guessed at.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case '\'', '\\', '$':
			b.WriteByte(c)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := codePoint(s[i+1:])
			if n == 0 {
				b.WriteString(`\u`)
				continue
			}
			b.WriteRune(r)
			i += n
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}

// codePoint reads the {hex} of a \u{hex} escape, returning the rune and how
// many bytes it took, or 0 when s does not start with one.
func codePoint(s string) (rune, int) {
	end := strings.IndexByte(s, '}')
	if !strings.HasPrefix(s, "{") || end < 2 {
		return 0, 0
	}
	n, err := strconv.ParseUint(s[1:end], 16, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		return 0, 0
	}
	return rune(n), end + 1
}

// multiline is the value of a triple-quoted string given the source between
// the quotes: verbatim, except that one newline straight after the opening
// quotes is not part of it.
func multiline(s string) string {
	if rest, ok := strings.CutPrefix(s, "\r\n"); ok {
		return rest
	}
	return strings.TrimPrefix(s, "\n")
}

// splitType splits a resource type string at its last '@':
// 'Microsoft.Web/sites@2023-01-01' is "Microsoft.Web/sites", "2023-01-01".
func splitType(s string) (typ, apiVersion string) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// snippet is the first line of s, cut to at most 40 bytes on a rune
// boundary, for an error message.
func snippet(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	s = strings.TrimSpace(s)
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
