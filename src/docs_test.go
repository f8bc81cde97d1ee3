package src_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The docs are part of the code base: these tests keep their structure from
// rotting. Paths are relative to src/, where go test runs this package.
const repoRoot = ".."

// adrSections are the sections every decision record has, in this order
// (docs/adr/README.md).
var adrSections = []string{"Status", "Context", "Decision", "Consequences", "Alternatives considered", "In the code"}

var adrFile = regexp.MustCompile(`^(\d{4})-[a-z0-9-]+\.md$`)

// TestADRIndex checks that the records are numbered 0001, 0002, … with no gap,
// that each one's title carries its number, and that the index lists each
// one.
func TestADRIndex(t *testing.T) {
	dir := filepath.Join(repoRoot, "docs", "adr")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	index := readFile(t, filepath.Join(dir, "README.md"))
	linked := map[string]bool{}
	for _, l := range markdownLinks(index) {
		linked[l.target] = true
	}
	n := 0
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		m := adrFile.FindStringSubmatch(e.Name())
		if m == nil {
			t.Errorf("docs/adr/%s: want NNNN-a-short-name.md", e.Name())
			continue
		}
		n++
		if want := fmt.Sprintf("%04d", n); m[1] != want {
			t.Errorf("docs/adr/%s: number %s, want %s (numbers run on without gaps)", e.Name(), m[1], want)
		}
		if title := firstLine(readFile(t, filepath.Join(dir, e.Name()))); !strings.HasPrefix(title, "# "+m[1]+": ") {
			t.Errorf("docs/adr/%s: title %q, want \"# %s: …\"", e.Name(), title, m[1])
		}
		if !linked[e.Name()] {
			t.Errorf("docs/adr/README.md does not list %s", e.Name())
		}
	}
	if n == 0 {
		t.Fatal("no decision records found")
	}
}

// TestADRSections checks that every record has the sections of the format,
// in order, and no others.
func TestADRSections(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "adr", "[0-9][0-9][0-9][0-9]-*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no decision records found (%v)", err)
	}
	for _, f := range files {
		var got []string
		for _, line := range strings.Split(stripCode(readFile(t, f)), "\n") {
			if h, ok := strings.CutPrefix(line, "## "); ok {
				got = append(got, strings.TrimSpace(h))
			}
		}
		if !slices.Equal(got, adrSections) {
			t.Errorf("%s: sections %q, want %q", rel(f), got, adrSections)
		}
	}
}

// codePath is a repository path named in inline code: src/…, bicep/…, tests/….
var codePath = regexp.MustCompile("`((?:src|bicep|tests)/[A-Za-z0-9_./-]*)`")

// TestADRCodePointersExist checks that the files and folders a record points
// to are there: a record whose code moved must say where to.
func TestADRCodePointersExist(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "adr", "[0-9][0-9][0-9][0-9]-*.md"))
	for _, f := range files {
		for _, m := range codePath.FindAllStringSubmatch(readFile(t, f), -1) {
			if _, err := os.Stat(filepath.Join(repoRoot, m[1])); err != nil {
				t.Errorf("%s points to %s, which does not exist", rel(f), m[1])
			}
		}
	}
}

// TestDocLinks checks every relative link of the Markdown docs (README.md
// and docs/): the file it names exists and, when it names a heading
// (#anchor) of a Markdown file, so does the heading, spelt as GitHub makes
// anchors.
func TestDocLinks(t *testing.T) {
	for _, f := range markdownFiles(t) {
		for _, l := range markdownLinks(readFile(t, f)) {
			target, anchor, _ := strings.Cut(l.target, "#")
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path := f
			if target != "" {
				path = filepath.Join(filepath.Dir(f), filepath.FromSlash(target))
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link %q: %s does not exist", rel(f), l.target, rel(path))
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(path, ".md") {
				continue
			}
			if !slices.Contains(anchors(readFile(t, path)), anchor) {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", rel(f), l.target, rel(path), anchor)
			}
		}
	}
}

// mermaidTypes are the diagram types the docs use, all of which GitHub
// renders. A new type is fine once it has been seen to render there.
var mermaidTypes = []string{"flowchart", "sequenceDiagram", "stateDiagram-v2"}

// TestMermaidDiagramTypes checks that every ```mermaid block starts with one
// of mermaidTypes.
func TestMermaidDiagramTypes(t *testing.T) {
	fence := regexp.MustCompile("(?m)^```mermaid\n\\s*(\\S+)")
	for _, f := range markdownFiles(t) {
		for _, m := range fence.FindAllStringSubmatch(readFile(t, f), -1) {
			if !slices.Contains(mermaidTypes, m[1]) {
				t.Errorf("%s: a mermaid block of type %q, want one of %q", rel(f), m[1], mermaidTypes)
			}
		}
	}
}

// markdownFiles are README.md and every .md file under docs/.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md")}
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

type link struct{ text, target string }

// inlineLink is [text](target) with no title; images (![…]) match too.
var inlineLink = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]+)\)`)

// markdownLinks returns the inline links of a Markdown text, outside code.
func markdownLinks(md string) []link {
	var links []link
	for _, m := range inlineLink.FindAllStringSubmatch(stripCode(md), -1) {
		links = append(links, link{text: m[1], target: m[2]})
	}
	return links
}

var inlineCode = regexp.MustCompile("`[^`\n]*`")

// stripCode blanks fenced code blocks and inline code spans, where brackets
// and hashes are not Markdown.
func stripCode(md string) string {
	return inlineCode.ReplaceAllString(stripCodeBlocks(md), "``")
}

// anchors returns the anchors GitHub gives the headings of md: lower case,
// punctuation dropped, spaces as hyphens, and -1, -2, … on repeats.
func anchors(md string) []string {
	seen := map[string]int{}
	var out []string
	for _, line := range strings.Split(stripCodeBlocks(md), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimLeft(line, "#")
		if len(text) == len(line) || !strings.HasPrefix(text, " ") {
			continue
		}
		slug := slugify(strings.TrimSpace(text))
		if n := seen[slug]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", slug, n))
		} else {
			out = append(out, slug)
		}
		seen[slug]++
	}
	return out
}

// stripCodeBlocks blanks fenced code blocks only: a heading's inline code
// keeps its text in the anchor.
func stripCodeBlocks(md string) string {
	var b strings.Builder
	inFence := false
	for _, line := range strings.SplitAfter(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			b.WriteString("\n")
			continue
		}
		if !inFence {
			b.WriteString(line)
		} else {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func slugify(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// rel names a path from the repository root, for messages.
func rel(path string) string {
	if r, err := filepath.Rel(repoRoot, path); err == nil {
		return filepath.ToSlash(r)
	}
	return path
}
