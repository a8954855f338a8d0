package cli_test

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/internal/cli"
	"github.com/apkit-dev/apkit/internal/term"
)

func sha512hex(s string) string {
	h := sha512.Sum512([]byte(s))
	return hex.EncodeToString(h[:])
}

const httpRecipe = `# Maintainer: Jane Doe <jane@example.com>
pkgname=hello
pkgver=2.12.1
pkgrel=2
pkgdesc="Friendly greeting program"
url="https://www.gnu.org/software/hello/"
arch="all"
license="GPL-3.0-or-later"
source="SERVER/hello-$pkgver.tar.gz
	fix.patch
	"

package() {
	mkdir -p "$pkgdir"
}

sha512sums="
SUM1  hello-2.12.1.tar.gz
SUM2  fix.patch
"
`

// TestFetchHTTP drives apkit fetch, bump and checksum against an
// httptest server standing in for upstream.
func TestFetchHTTP(t *testing.T) {
	files := map[string]string{
		"/hello-2.12.1.tar.gz": "hello tarball 2.12.1\n",
		"/hello-2.13.tar.gz":   "hello tarball 2.13\n",
	}
	var (
		mu   sync.Mutex
		hits = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		body, ok := files[r.URL.Path]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()

	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "home", ".config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "home", ".cache"))
	t.Setenv("APKIT_CONFIG", filepath.Join(dir, "apkit.yaml"))
	t.Setenv("ABUILD_CONF", filepath.Join(dir, "abuild.conf"))
	t.Setenv("APKIT_SRCDEST", filepath.Join(dir, "distfiles"))
	t.Setenv("CI", "")
	t.Setenv("GITLAB_CI", "")
	recipe := filepath.Join(dir, "hello")
	os.MkdirAll(recipe, 0o755)
	os.WriteFile(filepath.Join(recipe, "fix.patch"), []byte("--- a\n+++ b\n"), 0o644)
	apkbuild := filepath.Join(recipe, "APKBUILD")
	text := strings.NewReplacer("SERVER", srv.URL, "SUM1", sha512hex(files["/hello-2.12.1.tar.gz"]), "SUM2", sha512hex("--- a\n+++ b\n")).Replace(httpRecipe)
	os.WriteFile(apkbuild, []byte(text), 0o644)

	run := func(args ...string) (code int, stdout, stderr string) {
		io := term.Test()
		code = cli.Run(context.Background(), io.Streams, args)
		return code, io.OutBuf.String(), io.ErrBuf.String()
	}

	// fetch downloads the tarball, verifies both sources and prints their paths.
	code, out, errOut := run("fetch", recipe)
	if code != 0 {
		t.Fatalf("fetch: exit %d\n%s", code, errOut)
	}
	want := filepath.Join(dir, "distfiles", "hello-2.12.1.tar.gz") + "\n" + filepath.Join(recipe, "fix.patch") + "\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("fetch stdout (-want +got):\n%s", diff)
	}
	// Not a terminal: plain lines instead of a bar.
	if !strings.Contains(errOut, "fetching hello-2.12.1.tar.gz from "+srv.URL) || !strings.Contains(errOut, "fetched hello-2.12.1.tar.gz (21 B in ") {
		t.Errorf("fetch stderr lacks the plain progress lines:\n%s", errOut)
	}

	// A second fetch uses the cache.
	if code, _, errOut := run("fetch", "-q", recipe); code != 0 || errOut != "" {
		t.Errorf("second fetch: exit %d, stderr %q", code, errOut)
	}
	if hits["/hello-2.12.1.tar.gz"] != 1 {
		t.Errorf("the tarball was downloaded %d times, want 1", hits["/hello-2.12.1.tar.gz"])
	}

	// bump --pkgver downloads the new release and rewrites the sums only.
	code, out, errOut = run("bump", "--pkgver", "2.13", recipe)
	if code != 0 {
		t.Fatalf("bump: exit %d\n%s", code, errOut)
	}
	if diff := cmp.Diff("hello 2.12.1-r2 -> 2.13-r0\n", out); diff != "" {
		t.Errorf("bump stdout (-want +got):\n%s", diff)
	}
	got, _ := os.ReadFile(apkbuild)
	wantText := strings.NewReplacer("pkgver=2.12.1", "pkgver=2.13", "pkgrel=2", "pkgrel=0",
		sha512hex(files["/hello-2.12.1.tar.gz"])+"  hello-2.12.1.tar.gz", sha512hex(files["/hello-2.13.tar.gz"])+"  hello-2.13.tar.gz").Replace(text)
	if diff := cmp.Diff(wantText, string(got)); diff != "" {
		t.Errorf("APKBUILD after bump (-want +got):\n%s", diff)
	}

	// Upstream replaces the release file: fetch fails with exit code 3
	// after moving the stale cached copy aside and downloading again.
	mu.Lock()
	files["/hello-2.13.tar.gz"] = "hello tarball 2.13, re-rolled\n"
	mu.Unlock()
	os.Remove(filepath.Join(dir, "distfiles", "hello-2.13.tar.gz"))
	code, _, errOut = run("fetch", recipe)
	if code != cli.ExitVerify || !strings.Contains(errOut, "hello-2.13.tar.gz: sha512 mismatch: expected "+sha512hex("hello tarball 2.13\n")) {
		t.Errorf("fetch of a changed file: exit %d, stderr:\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "distfiles", "hello-2.13.tar.gz."+sha512hex("hello tarball 2.13\n")[:8])); err != nil {
		t.Errorf("the bad download was not moved aside: %v", err)
	}

	// checksum accepts the new file.
	if code, out, errOut := run("checksum", recipe); code != 0 || out != apkbuild+"\n" {
		t.Errorf("checksum: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	if code, _, errOut := run("fetch", recipe); code != 0 {
		t.Errorf("fetch after checksum: exit %d\n%s", code, errOut)
	}

	// A 404 is an error naming the URL.
	os.WriteFile(apkbuild, []byte(strings.Replace(string(got), "hello-$pkgver.tar.gz", "gone-$pkgver.tar.gz", 1)), 0o644)
	code, _, errOut = run("checksum", recipe)
	if code != cli.ExitFailure || !strings.Contains(errOut, "fetch gone-2.13.tar.gz: GET "+srv.URL+"/gone-2.13.tar.gz: 404 Not Found") {
		t.Errorf("checksum with a 404: exit %d, stderr:\n%s", code, errOut)
	}
}
