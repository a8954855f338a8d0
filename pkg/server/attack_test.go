package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/server"
)

// TestUploadSlowBody: a client that sends the headers and part of the body
// and then stalls must not hold its upload slot (and a staged file) for
// ever; the upload fails with 408 and nothing is stored.
func TestUploadSlowBody(t *testing.T) {
	e := newEnv(t, func(o *server.Options) {
		o.Verifier = nil
		o.UploadIdleTimeout = 200 * time.Millisecond
	})
	ctype, body := multipartBody(t, []part{{"file", "hello-1.0-r0.apk", fakePackage("hello", "1.0-r0", "x86_64")}})
	conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ctype, len(body))
	conn.Write(body[:len(body)/2]) // and never the rest
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no reply to a stalled upload: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408 (%s)", resp.StatusCode, b)
	}
	if got := e.stored(t); len(got) != 0 {
		t.Errorf("stored: %v", got)
	}
}

// TestUploadFormEdgeCases sends malformed and hostile multipart forms; each
// is refused with 400 and nothing is stored.
func TestUploadFormEdgeCases(t *testing.T) {
	good := fakePackage("hello", "1.0-r0", "x86_64")
	filePart := func(disposition string, body []byte) string {
		return "--B\r\nContent-Disposition: " + disposition + "\r\nContent-Type: application/octet-stream\r\n\r\n" + string(body) + "\r\n"
	}
	tests := []struct {
		name  string
		ctype string
		body  string
		want  int
	}{
		{"missing boundary", "multipart/form-data", filePart(`form-data; name="file"; filename="hello-1.0-r0.apk"`, good) + "--B--\r\n", 400},
		{"wrong boundary", "multipart/form-data; boundary=X", filePart(`form-data; name="file"; filename="hello-1.0-r0.apk"`, good) + "--B--\r\n", 400},
		{"file name with NUL", "multipart/form-data; boundary=B", filePart("form-data; name=\"file\"; filename=\"hello\x00-1.0-r0.apk\"", good) + "--B--\r\n", 400},
		{"file name percent-encoded path", "multipart/form-data; boundary=B", filePart(`form-data; name="file"; filename*=UTF-8''..%2Fhello-1.0-r0.apk`, good) + "--B--\r\n", 400},
		{"file name with backslash", "multipart/form-data; boundary=B", filePart(`form-data; name="file"; filename="..\\hello-1.0-r0.apk"`, good) + "--B--\r\n", 400},
		{"file name absolute", "multipart/form-data; boundary=B", filePart(`form-data; name="file"; filename="/etc/hello-1.0-r0.apk"`, good) + "--B--\r\n", 400},
		{"file name very long", "multipart/form-data; boundary=B", filePart(`form-data; name="file"; filename="`+strings.Repeat("a", 5000)+`.apk"`, good) + "--B--\r\n", 400},
		{"file part without file name", "multipart/form-data; boundary=B", filePart(`form-data; name="file"`, good) + "--B--\r\n", 400},
		{"the index's own name", "multipart/form-data; boundary=B", filePart(`form-data; name="file"; filename="`+server.IndexName+`"`, good) + "--B--\r\n", 400},
		{"huge field value", "multipart/form-data; boundary=B", filePart(`form-data; name="repo"`, []byte(strings.Repeat("m", 100<<10))) + filePart(`form-data; name="file"; filename="hello-1.0-r0.apk"`, good) + "--B--\r\n", 400},
		{"field given twice", "multipart/form-data; boundary=B", filePart(`form-data; name="repo"`, []byte("main")) + filePart(`form-data; name="repo"`, []byte("testing")) + filePart(`form-data; name="file"; filename="hello-1.0-r0.apk"`, good) + "--B--\r\n", 400},
		{"many parts", "multipart/form-data; boundary=B", strings.Repeat(filePart(`form-data; name="x"`, nil), 1500) + "--B--\r\n", 400},
		{"huge part header", "multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"x\"\r\nX-Junk: " + strings.Repeat("j", 900<<10) + "\r\n\r\nv\r\n--B--\r\n", 0},
		{"no closing boundary", "multipart/form-data; boundary=B", filePart(`form-data; name="file"; filename="hello-1.0-r0.apk"`, good), 400},
		{"empty body", "multipart/form-data; boundary=B", "", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(o *server.Options) { o.Verifier = nil })
			code, reply := e.post(t, "", tc.ctype, []byte(tc.body))
			if tc.want == 0 {
				// Any refusal will do (400 or 413), as long as it is one.
				if code < 400 || code >= 500 {
					t.Errorf("status %d, want a 4xx refusal (%s)", code, reply)
				}
			} else if code != tc.want {
				t.Errorf("status %d, want %d (%s)", code, tc.want, reply)
			}
			if got := e.stored(t); len(got) != 0 {
				t.Errorf("stored: %v", got)
			}
		})
	}
}

// rawGet sends the request target as is (a Go client would clean it) and
// returns the status and body.
func rawGet(t *testing.T, e *env, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStaticEscapes requests paths that try to leave the served tree or
// reach hidden files, sent raw so that no client cleans them first.
func TestStaticEscapes(t *testing.T) {
	e := newEnv(t, nil)
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	arch := filepath.Join(e.dir, "edge", "main", "x86_64")
	writeFile(t, filepath.Join(arch, "hello-1.0-r0.apk"), "pkg", mtime)
	writeFile(t, filepath.Join(arch, ".hidden.apk"), "secret-dot", mtime)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "passwd"), "secret-outside", mtime)
	// A directory inside the tree that is a link to one outside it.
	if err := os.Symlink(outside, filepath.Join(e.dir, "edge", "linked")); err != nil {
		t.Fatal(err)
	}
	// A link whose target climbs out relatively.
	if err := os.Symlink("../../../../"+filepath.Base(outside)+"/passwd", filepath.Join(arch, "rel.apk")); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		"/../" + filepath.Base(outside) + "/passwd",
		"/edge/..%2f..%2f" + filepath.Base(outside) + "%2fpasswd",
		"/edge/%2e%2e/%2e%2e/" + filepath.Base(outside) + "/passwd",
		"/edge/main/x86_64/..%5c..%5c..%5cpasswd",
		"/edge/main/x86_64/..\\..\\..\\passwd",
		"/edge/linked/passwd",
		"/edge/linked/",
		"/edge/main/x86_64/rel.apk",
		"/edge/main/x86_64/.hidden.apk",
		"/edge/main/x86_64/%2ehidden.apk",
		"/edge/main/%2e/x86_64/.hidden.apk",
		"/.upload/",
		"/%2eupload/",
		"/edge/main/x86_64/hello-1.0-r0.apk%00.txt",
		"/" + strings.Repeat("a/", 3000) + "x",
		"/" + strings.Repeat("b", 5000),
	} {
		t.Run(target[:min(len(target), 60)], func(t *testing.T) {
			code, body := rawGet(t, e, target)
			if strings.Contains(body, "secret-") || code == http.StatusOK {
				t.Errorf("%s: %d %q", target, code, body[:min(len(body), 200)])
			}
		})
	}
	t.Run("listing skips links and dot files", func(t *testing.T) {
		code, body := rawGet(t, e, "/edge/")
		if code != 200 || strings.Contains(body, "linked") {
			t.Errorf("%d %s", code, body)
		}
		_, body = rawGet(t, e, "/edge/main/x86_64/")
		if strings.Contains(body, "hidden") || strings.Contains(body, "rel.apk") {
			t.Errorf("listing shows a dot file or a link out:\n%s", body)
		}
	})
}

// TestListingInjection: file names that are HTML or script are shown as
// text and linked as relative names.
func TestListingInjection(t *testing.T) {
	e := newEnv(t, nil)
	dir := filepath.Join(e.dir, "edge", "main", "x86_64")
	mtime := time.Now()
	for _, name := range []string{`"><script>alert(1)<\script>.apk`, `javascript:alert(1)`, `a'onmouseover='x.apk`, "\u202eevil.apk"} {
		writeFile(t, filepath.Join(dir, name), "x", mtime)
	}
	code, body := rawGet(t, e, "/edge/main/x86_64/")
	if code != 200 {
		t.Fatalf("%d", code)
	}
	for _, bad := range []string{"<script>", `href="javascript:`, `'onmouseover='`, `"><script`} {
		if strings.Contains(body, bad) {
			t.Errorf("listing holds %q:\n%s", bad, body)
		}
	}
}

// TestStalledDownloadIsDropped: a client that asks for a large file and
// never reads it must not hold a connection and a handler for ever.
func TestStalledDownloadIsDropped(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.SendTimeout = 200 * time.Millisecond })
	big := filepath.Join(e.dir, "edge", "main", "x86_64", "big-1.0-r0.apk")
	os.MkdirAll(filepath.Dir(big), 0o755)
	if err := os.WriteFile(big, make([]byte, 64<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /edge/main/x86_64/big-1.0-r0.apk HTTP/1.1\r\nHost: test\r\n\r\n")
	// The handler logs its request line when it returns.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.log.String(), "big-1.0-r0.apk") {
		if time.Now().After(deadline) {
			t.Fatal("the handler is still writing to a client that does not read")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSendTimeoutKeepAlive: the write deadline of one reply does not cut
// the next reply on the same kept-alive connection.
func TestSendTimeoutKeepAlive(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.SendTimeout = 200 * time.Millisecond })
	writeFile(t, filepath.Join(e.dir, "a.apk"), "aaaa", time.Now())
	for i := range 2 {
		resp, body := get(t, e, "/a.apk", nil)
		if resp.StatusCode != 200 || body != "aaaa" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		time.Sleep(400 * time.Millisecond)
	}
}
