package config

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestServeDocsReference checks that the configuration reference in
// docs/server.md lists exactly the keys apkit serve reads.
func TestServeDocsReference(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "docs", "server.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `([a-z_.]+)` \\|")
	var documented []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Configuration reference"
			continue
		}
		if m := row.FindStringSubmatch(line); in && m != nil {
			documented = append(documented, m[1])
		}
	}
	want := append(append([]string(nil), serveEnvKeys...), "jwt.claims")
	sort.Strings(want)
	sort.Strings(documented)
	if diff := cmp.Diff(want, documented); diff != "" {
		t.Errorf("docs/server.md configuration reference (-keys apkit serve reads +documented):\n%s", diff)
	}
}

// TestServeExampleConfig loads examples/server/serve.yaml, the complete
// example the docs point to.
func TestServeExampleConfig(t *testing.T) {
	home := t.TempDir()
	c, err := LoadServe(ServeOptions{
		File:   filepath.Join("..", "..", "examples", "server", "serve.yaml"),
		Getenv: func(string) string { return "" },
		Home:   home,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Dir != "/var/lib/apkit/repo" || !c.TLS.Enabled() || c.TLS.Redirect.Port != 8080 || c.TLS.HSTS.Header() != "max-age=31536000" {
		t.Errorf("dir, tls: got %+v %+v", c.Dir, c.TLS)
	}
	if diff := cmp.Diff(map[string][]string{"namespace_path": {"packaging"}, "ref_protected": {"true"}}, c.JWT.Claims); diff != "" {
		t.Errorf("jwt.claims (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://packages.example.org"}, c.JWT.Audience); diff != "" {
		t.Errorf("jwt.audience (-want +got):\n%s", diff)
	}
	if c.MaxUploadSize != 512<<20 || c.LogFormat != "json" || c.UploadKeys == "" || c.SigningKey == "" {
		t.Errorf("got %+v", c)
	}
}
