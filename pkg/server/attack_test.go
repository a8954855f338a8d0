package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
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
