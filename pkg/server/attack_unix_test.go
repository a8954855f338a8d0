//go:build unix

package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSpecialFileNotOpened: a named pipe in the tree is not served, and
// asking for it does not block the handler on opening it.
func TestSpecialFileNotOpened(t *testing.T) {
	e := newEnv(t, nil)
	if err := syscall.Mkfifo(filepath.Join(e.dir, "pipe.apk"), 0o644); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	done := make(chan int, 1)
	go func() {
		resp, err := e.http.Client().Get(e.http.URL + "/pipe.apk")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case code := <-done:
		if code != http.StatusNotFound {
			t.Errorf("status %d, want 404", code)
		}
	case <-time.After(5 * time.Second):
		// Unblock the handler so that the server can close.
		if f, err := os.OpenFile(filepath.Join(e.dir, "pipe.apk"), os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("the handler blocks opening a named pipe")
	}
}
