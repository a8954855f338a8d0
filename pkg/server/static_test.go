package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/server"
)

func get(t *testing.T, e *env, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := e.http.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func writeFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Replace by rename, as the repository does.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestStaticFiles(t *testing.T) {
	e := newEnv(t, nil)
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	arch := filepath.Join(e.dir, "edge", "main", "x86_64")
	writeFile(t, filepath.Join(arch, "hello-1.0-r0.apk"), "0123456789abcdef", mtime)
	writeFile(t, filepath.Join(arch, "APKINDEX.tar.gz"), "index-one", mtime)
	writeFile(t, filepath.Join(arch, "we?ird:<b>.apk"), "x", mtime)
	writeFile(t, filepath.Join(e.dir, ".secret"), "x", mtime)
	writeFile(t, filepath.Join(arch, ".lock"), "x", mtime)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "passwd"), "root:x:0:0", mtime)
	if err := os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(arch, "escape.apk")); err != nil {
		t.Fatal(err)
	}

	t.Run("package", func(t *testing.T) {
		resp, body := get(t, e, "/edge/main/x86_64/hello-1.0-r0.apk", nil)
		if resp.StatusCode != 200 || body != "0123456789abcdef" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		for k, want := range map[string]string{
			"Content-Type":   "application/octet-stream",
			"Last-Modified":  "Fri, 02 Jan 2026 03:04:05 GMT",
			"Accept-Ranges":  "bytes",
			"Content-Length": "16",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if resp.Header.Get("ETag") == "" {
			t.Error("no ETag")
		}
	})
	t.Run("range", func(t *testing.T) {
		resp, body := get(t, e, "/edge/main/x86_64/hello-1.0-r0.apk", map[string]string{"Range": "bytes=4-7"})
		if resp.StatusCode != 206 || body != "4567" || resp.Header.Get("Content-Range") != "bytes 4-7/16" {
			t.Fatalf("%d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Range"))
		}
	})
	t.Run("conditional", func(t *testing.T) {
		resp, _ := get(t, e, "/edge/main/x86_64/hello-1.0-r0.apk", nil)
		resp2, _ := get(t, e, "/edge/main/x86_64/hello-1.0-r0.apk", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if resp2.StatusCode != 304 {
			t.Errorf("If-None-Match: %d", resp2.StatusCode)
		}
		resp3, _ := get(t, e, "/edge/main/x86_64/hello-1.0-r0.apk", map[string]string{"If-Modified-Since": "Fri, 02 Jan 2026 03:04:05 GMT"})
		if resp3.StatusCode != 304 {
			t.Errorf("If-Modified-Since: %d", resp3.StatusCode)
		}
	})
	t.Run("index is never stale", func(t *testing.T) {
		resp, body := get(t, e, "/edge/main/x86_64/APKINDEX.tar.gz", nil)
		if body != "index-one" || resp.Header.Get("Content-Type") != "application/gzip" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%q %v", body, resp.Header)
		}
		// A new index of the same size with the same mtime: a new ETag all the same.
		writeFile(t, filepath.Join(arch, "APKINDEX.tar.gz"), "index-two", mtime)
		resp2, body2 := get(t, e, "/edge/main/x86_64/APKINDEX.tar.gz", map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if resp2.StatusCode != 200 || body2 != "index-two" {
			t.Fatalf("after rewrite: %d %q", resp2.StatusCode, body2)
		}
	})
	t.Run("listing", func(t *testing.T) {
		resp, body := get(t, e, "/edge/main/x86_64/", nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		for _, want := range []string{`href="./hello-1.0-r0.apk"`, `href="./APKINDEX.tar.gz"`, `href="./we%3Fird%3A%3Cb%3E.apk"`, "we?ird:&lt;b&gt;.apk", `href="../"`} {
			if !strings.Contains(body, want) {
				t.Errorf("listing lacks %s:\n%s", want, body)
			}
		}
		if strings.Contains(body, ".lock") || strings.Contains(body, "<b>") {
			t.Errorf("listing shows hidden or unescaped names:\n%s", body)
		}
		_, js := get(t, e, "/edge/main/x86_64/", map[string]string{"Accept": "application/json"})
		if !strings.Contains(js, `"name":"hello-1.0-r0.apk"`) {
			t.Errorf("JSON listing: %s", js)
		}
		resp, _ = get(t, e, "/edge/main", nil)
		if resp.StatusCode != 301 || resp.Header.Get("Location") != "/edge/main/" {
			t.Errorf("directory without slash: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	for _, p := range []string{"/.secret", "/edge/main/x86_64/.lock", "/.upload/", "/../../etc/passwd", "/edge/main/x86_64/escape.apk", "/edge/%2e%2e/%2e%2e/etc/passwd", "/nothing.apk"} {
		t.Run("hidden "+p, func(t *testing.T) {
			resp, body := get(t, e, p, nil)
			if resp.StatusCode != 404 && (resp.StatusCode/100 != 3 || strings.Contains(body, "root:")) {
				t.Errorf("%s: %d %q", p, resp.StatusCode, body)
			}
		})
	}
}

func TestRedirectHandler(t *testing.T) {
	tests := []struct {
		port, host, path, want string
	}{
		{"443", "repo.example.test", "/v3.20/main/x86_64/APKINDEX.tar.gz?x=1", "https://repo.example.test/v3.20/main/x86_64/APKINDEX.tar.gz?x=1"},
		{"8443", "repo.example.test:8080", "/", "https://repo.example.test:8443/"},
		{"", "[::1]:80", "/a", "https://[::1]/a"},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(http.MethodGet, "http://"+tc.host+tc.path, nil)
		w := httptest.NewRecorder()
		server.RedirectHandler(tc.port).ServeHTTP(w, req)
		if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != tc.want {
			t.Errorf("%s%s: %d %q, want %q", tc.host, tc.path, w.Code, w.Header().Get("Location"), tc.want)
		}
	}
}
