//go:build unix

package repo

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestAddLink: with Options.Link, Add places the very file it was given (a
// hard link, no second copy); without it, a copy; the source stays either
// way.
func TestAddLink(t *testing.T) {
	for _, link := range []bool{false, true} {
		src := t.TempDir()
		p := writeFake(t, src, "pkg", "1.0-r0")
		dir := filepath.Join(t.TempDir(), "x86_64")
		r := openFake(t, dir, Options{AllowUntrusted: true, Link: link})
		if _, err := r.Add(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		a, err := os.Stat(p)
		if err != nil {
			t.Fatalf("Link=%v: source gone: %v", link, err)
		}
		b, err := os.Stat(filepath.Join(dir, "pkg-1.0-r0.apk"))
		if err != nil {
			t.Fatal(err)
		}
		same := a.Sys().(*syscall.Stat_t).Ino == b.Sys().(*syscall.Stat_t).Ino
		if same != link {
			t.Errorf("Link=%v: same file = %v", link, same)
		}
		if tmps, _ := filepath.Glob(filepath.Join(dir, tempPrefix+"*")); len(tmps) > 0 {
			t.Errorf("Link=%v: left %v", link, tmps)
		}
	}
}
