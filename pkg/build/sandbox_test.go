package build_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/build"
	"github.com/apkit-dev/apkit/pkg/sandbox"
	"github.com/apkit-dev/apkit/pkg/sandbox/sandboxtest"
)

// writeRecipe writes an APKBUILD into a new <tmp>/aports/main/<name>.
func writeRecipe(t *testing.T, name, body string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "aports", "main", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf(`pkgname=%s
pkgver=1.0
pkgrel=0
pkgdesc="sandbox test"
url="https://example.org"
arch="noarch"
license="MIT"
source=""
`, name)
	if err := os.WriteFile(filepath.Join(dir, "APKBUILD"), []byte(head+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMain lets the test binary serve as the recipes' network client: run
// as "<binary> apkit-test-dial URL" it fetches URL, prints the body and
// exits 0, or exits 1 when it cannot.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "apkit-test-dial" {
		c := &http.Client{Timeout: 3 * time.Second}
		resp, err := c.Get(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(os.Stdout, resp.Body)
		resp.Body.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fetcher copies the test binary into the recipe directory (which the
// sandbox shows read-only) and returns the recipe command that fetches url.
func fetcher(t *testing.T, dir, url string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dial"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	return `"$startdir"/dial apkit-test-dial ` + url
}

func buildPhases(t *testing.T, r sandbox.Runner, dir string, opts build.Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts.Runner = r
	opts.Arch = "x86_64"
	opts.Output = &out
	opts.Phases = []build.Phase{build.PhasePrepare, build.PhaseBuild}
	_, err := build.Build(context.Background(), dir, opts)
	return out.String(), err
}

// TestSandboxDeniesNetwork: a recipe cannot reach a server on the host
// unless its options contain net.
func TestSandboxDeniesNetwork(t *testing.T) {
	r := sandboxtest.RequireBwrap(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "reached") }))
	defer srv.Close()
	for _, tc := range []struct {
		name, options string
		ok            bool
	}{
		{"no net", "", false},
		{"net option", `options="net"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeRecipe(t, "nettest", "")
			body := tc.options + "\nbuild() {\n\t" + fetcher(t, dir, srv.URL+"/") + "\n}\npackage() {\n\tmkdir -p \"$pkgdir\"\n}\n"
			if err := os.WriteFile(filepath.Join(dir, "APKBUILD"), append(mustRead(t, filepath.Join(dir, "APKBUILD")), body...), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := buildPhases(t, r, dir, build.Options{})
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v\n%s", err, tc.ok, out)
			}
			if tc.ok && !strings.Contains(out, "reached") {
				t.Errorf("output lacks the server's answer:\n%s", out)
			}
			var pe *build.PhaseError
			if !tc.ok && (!errors.As(err, &pe) || pe.Phase != "build") {
				t.Errorf("err = %v, want a build phase error", err)
			}
		})
	}
}

// TestSandboxDeniesWrites: a recipe cannot write to its own recipe
// directory or the build root, only to its work directories.
func TestSandboxDeniesWrites(t *testing.T) {
	r := sandboxtest.RequireBwrap(t)
	marker := fmt.Sprintf("apkit-sandbox-test-%d", os.Getpid())
	for _, tc := range []struct {
		name, target string
	}{
		{"recipe dir", `"$startdir"/` + marker},
		{"build root", "/etc/" + marker},
		{"usr", "/usr/" + marker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeRecipe(t, "writetest", "build() {\n\techo ok > \"$srcdir\"/allowed\n\techo evil > "+tc.target+"\n}\npackage() {\n\tmkdir -p \"$pkgdir\"\n}\n")
			out, err := buildPhases(t, r, dir, build.Options{})
			if err == nil {
				t.Fatalf("build wrote to %s\n%s", tc.target, out)
			}
			for _, p := range []string{filepath.Join(dir, marker), "/etc/" + marker, "/usr/" + marker} {
				if _, err := os.Stat(p); err == nil {
					os.Remove(p)
					t.Errorf("%s exists on the host", p)
				}
			}
			if b, err := os.ReadFile(filepath.Join(dir, "src", "allowed")); err != nil || string(b) != "ok\n" {
				t.Errorf("write to srcdir: %q, %v", b, err)
			}
		})
	}
}

// TestSandboxHidesPrivateKey: the signing key is invisible to the recipe,
// even when it lies next to the APKBUILD or in the user's home.
func TestSandboxHidesPrivateKey(t *testing.T) {
	r := sandboxtest.RequireBwrap(t)
	home := t.TempDir()
	keyDir := filepath.Join(home, ".abuild")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	homeKey := filepath.Join(keyDir, "me-1234.rsa")
	secret := "-----BEGIN PRIVATE KEY----- secret"
	for _, tc := range []struct {
		name string
		key  func(dir string) string
	}{
		{"key in home", func(string) string { return homeKey }},
		{"key beside the recipe", func(dir string) string { return filepath.Join(dir, "signing.rsa") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeRecipe(t, "keytest", "")
			key := tc.key(dir)
			if err := os.WriteFile(key, []byte(secret), 0o600); err != nil {
				t.Fatal(err)
			}
			body := "build() {\n\tcat " + key + " > \"$srcdir\"/stolen || true\n\tgrep -q PRIVATE " + key + "\n}\npackage() {\n\tmkdir -p \"$pkgdir\"\n}\n"
			if err := os.WriteFile(filepath.Join(dir, "APKBUILD"), append(mustRead(t, filepath.Join(dir, "APKBUILD")), body...), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := buildPhases(t, r, dir, build.Options{Key: key})
			if err == nil {
				t.Fatalf("recipe read the private key\n%s", out)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "src", "stolen")); bytes.Contains(b, []byte("PRIVATE")) {
				t.Errorf("key content leaked into srcdir")
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
