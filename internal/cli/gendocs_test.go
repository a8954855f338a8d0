package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/internal/cli"
)

// docsCLIDir is docs/cli of the source tree, seen from this package.
var docsCLIDir = filepath.Join("..", "..", "docs", "cli")

// TestMarkdownDocsFresh fails when docs/cli differs from what the command
// tree generates: a flag, a Short or a Long changed without regenerating.
// go test ./internal/cli -run TestMarkdownDocsFresh -update rewrites it.
func TestMarkdownDocsFresh(t *testing.T) {
	if *update {
		if err := cli.WriteMarkdownDocs(docsCLIDir); err != nil {
			t.Fatal(err)
		}
	}
	want, err := cli.MarkdownDocs()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join(docsCLIDir, "apkit*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got[filepath.Base(f)] = b
	}
	const fix = "docs/cli is stale; regenerate it with: go generate ./internal/cli (or go run ./cmd/apkit gen-docs --markdown docs/cli)"
	if diff := cmp.Diff(sortedKeys(want), sortedKeys(got)); diff != "" {
		t.Errorf("pages (-want +got):\n%s\n%s", diff, fix)
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			continue
		}
		if diff := cmp.Diff(string(w), string(g)); diff != "" {
			t.Errorf("%s (-want +got):\n%s\n%s", name, diff, fix)
		}
	}
}

// TestMarkdownDocsStable checks that the pages do not depend on the
// environment they are generated in (home directory, CPU count, colour).
func TestMarkdownDocsStable(t *testing.T) {
	a, err := cli.MarkdownDocs()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("APKIT_CONFIG", filepath.Join(t.TempDir(), "x.yaml"))
	t.Setenv("FORCE_COLOR", "1")
	t.Setenv("GITLAB_CI", "true")
	b, err := cli.MarkdownDocs()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("pages depend on the environment (-first +second):\n%s", diff)
	}
}

func TestWriteMarkdownDocsRemovesGonePages(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"apkit_gone.md": "old", "README.md": "kept"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := cli.WriteMarkdownDocs(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "apkit_gone.md")); !os.IsNotExist(err) {
		t.Errorf("apkit_gone.md: want it removed, stat says %v", err)
	}
	for _, name := range []string{"README.md", "apkit.md", "apkit_version.md", "apkit_completion.md"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestManPages(t *testing.T) {
	date := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	pages, err := cli.ManPages(date)
	if err != nil {
		t.Fatal(err)
	}
	md, err := cli.MarkdownDocs()
	if err != nil {
		t.Fatal(err)
	}
	// One man page per Markdown page, named apkit-verb.1.
	var want []string
	for name := range md {
		want = append(want, strings.ReplaceAll(strings.TrimSuffix(name, ".md"), "_", "-")+".1")
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, sortedKeys(pages)); diff != "" {
		t.Errorf("man pages (-want +got):\n%s", diff)
	}
	for name, p := range pages {
		title := strings.ToUpper(strings.TrimSuffix(name, ".1"))
		if !bytes.Contains(p, []byte(`.TH "`+title+`" "1" "Jan 2026"`)) {
			t.Errorf("%s: no .TH line for %s dated Jan 2026:\n%.300s", name, title, p)
		}
		if bytes.Contains(p, []byte("spf13/cobra")) {
			t.Errorf("%s names the generator instead of apkit", name)
		}
		// Every option of the Markdown page is described, and no line of
		// text could be taken for a roff request.
		mdName := strings.ReplaceAll(strings.TrimSuffix(name, ".1"), "-", "_") + ".md"
		for _, f := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([\w-]+)`).FindAllSubmatch(md[mdName], -1) {
			flag := `.TP` + "\n" + `\fB\-\-` + strings.ReplaceAll(string(f[1]), "-", `\-`) + `\fP`
			short := `\fP, \fB\-\-` + strings.ReplaceAll(string(f[1]), "-", `\-`) + `\fP`
			if !bytes.Contains(p, []byte(flag)) && !bytes.Contains(p, []byte(short)) {
				t.Errorf("%s: option --%s is not described", name, f[1])
			}
		}
		for i, line := range strings.Split(string(p), "\n") {
			if strings.HasPrefix(line, ".") && !regexp.MustCompile(`^\.(nh|TH|SH|PP|TP|RS|RE|nf|fi)( |$)`).MatchString(line) {
				t.Errorf("%s:%d: %q would be read as a roff request", name, i+1, line)
			}
		}
	}
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestFromAbuildDocsFresh fails when the abuild table of
// docs/from-abuild.md differs from the one in the code, which also gives
// apkit's hints for abuild's flags and verbs.
// go test ./internal/cli -run TestFromAbuildDocsFresh -update rewrites it.
func TestFromAbuildDocsFresh(t *testing.T) {
	const (
		page  = "../../docs/from-abuild.md"
		begin = "<!-- BEGIN abuild table -->\n"
		end   = "<!-- END abuild table -->\n"
	)
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: no %q ... %q markers", page, begin, end)
	}
	want := doc[:i+len(begin)] + cli.AbuildTableMarkdown() + doc[j:]
	if *update && want != doc {
		if err := os.WriteFile(page, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		doc = want
	}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("%s is stale (-want +got):\n%s\nregenerate it with: go test ./internal/cli -run TestFromAbuildDocsFresh -update", page, diff)
	}
}
