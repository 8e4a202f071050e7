package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// compiledRE finds a Go snippet the docs say is compiled elsewhere: the
// marker names the Go file, relative to the repository root, that holds it.
var compiledRE = regexp.MustCompile("(?s)<!-- compiled in ([^ ]+) -->\n```go\n(.*?)\n```")

// codeLines are s's lines without indentation and blank lines, so that a
// snippet matches its place in a function whatever the nesting.
func codeLines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if l := strings.TrimSpace(line); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestCompiledSnippetsAreTheirSource: a snippet marked "compiled in FILE"
// is a contiguous run of FILE's lines, so that it compiles (and is vetted)
// with FILE's package.
func TestCompiledSnippetsAreTheirSource(t *testing.T) {
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range compiledRE.FindAllStringSubmatch(string(raw), -1) {
			found++
			src, err := os.ReadFile(filepath.Join("..", m[1]))
			if err != nil {
				t.Errorf("%s: %v", doc, err)
				continue
			}
			snippet, file := codeLines(m[2]), codeLines(string(src))
			if !containsRun(file, snippet) {
				t.Errorf("%s: the snippet marked as compiled in %s is not a run of its lines", doc, m[1])
			}
		}
	}
	if found == 0 {
		t.Fatal("no snippet is marked as compiled: the marker or its pattern changed")
	}
}

func containsRun(haystack, run []string) bool {
	for i := range haystack {
		if i+len(run) <= len(haystack) && slices.Equal(haystack[i:i+len(run)], run) {
			return true
		}
	}
	return false
}
