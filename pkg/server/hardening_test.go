package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/server"
)

// hangDeadline is how long a test waits for what must happen long before:
// only a hang exceeds it.
const hangDeadline = 30 * time.Second

// stallRequest opens a connection, sends head and then stalls; it returns
// the connection with a deadline only a hang exceeds.
func stallRequest(t *testing.T, e *env, head string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(hangDeadline))
	return conn
}

// closedByServer reads what is left on conn and reports whether the server
// closed it (EOF or a reset) rather than the deadline passing.
func closedByServer(conn net.Conn) error {
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return fmt.Errorf("connection still open after %s", hangDeadline)
	}
	return nil
}

// TestStalledUnauthenticatedRequests: requests that declare a small body
// and never send it, or never finish their headers, are answered (401 for
// an upload without a valid token, from its headers alone) and their
// connections closed within the configured request timeout, many at once.
func TestStalledUnauthenticatedRequests(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.RequestTimeout = 300 * time.Millisecond })
	const n = 40
	tests := []struct {
		name string
		head string
		want int // the status expected before the close; 0 for none
	}{
		{"upload without token", "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 200000\r\n\r\n--B\r\n", 401},
		{"upload with a bad token", "POST /upload HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer a.b.c\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 1000\r\n\r\n", 401},
		{"post to a file path", "POST /edge/ HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nabc", 0},
		{"get with a body", "GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n", 0},
		{"unfinished headers", "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				conn := stallRequest(t, e, tc.head)
				wg.Add(1)
				go func() {
					defer wg.Done()
					br := bufio.NewReader(conn)
					if tc.want != 0 {
						resp, err := http.ReadResponse(br, nil)
						if err != nil {
							errs <- fmt.Errorf("no reply: %w", err)
							return
						}
						resp.Body.Close()
						if resp.StatusCode != tc.want {
							errs <- fmt.Errorf("status %d, want %d", resp.StatusCode, tc.want)
							return
						}
					}
					if err := closedByServer(conn); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
				break
			}
		})
	}
	if !strings.Contains(e.log.String(), "missing bearer token") {
		t.Errorf("the refusals were not logged:\n%s", e.log.String())
	}
}
