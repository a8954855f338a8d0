package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/internal/cli"
	"github.com/apkit-dev/apkit/internal/term"
	"github.com/apkit-dev/apkit/pkg/repo"
)

// TestSignWaitsForRepositoryLock checks that apkit sign re-signs the index
// of a repository directory only while holding the directory's lock, as
// apkit build, index and serve do when they change it.
func TestSignWaitsForRepositoryLock(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "home", ".config"))
	t.Setenv("APKIT_CONFIG", filepath.Join(dir, "apkit.yaml"))
	t.Setenv("ABUILD_CONF", filepath.Join(dir, "abuild.conf"))
	run := func(args ...string) {
		t.Helper()
		ts := term.Test()
		if code := cli.Run(context.Background(), ts.Streams, args); code != 0 {
			t.Fatalf("apkit %v: exit %d\n%s", args, code, ts.ErrBuf.String())
		}
	}
	run("keygen", "--bits", "2048", "--dir", filepath.Join(dir, "keys"))
	rdir := filepath.Join(dir, "main", "x86_64")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A repository directory: apkit index DIR takes its lock, leaving the
	// lock file behind.
	run("index", "--no-sign", rdir)

	unlock, err := repo.LockDir(context.Background(), rdir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		ts := term.Test()
		done <- cli.Run(context.Background(), ts.Streams, []string{"sign", rdir})
	}()
	select {
	case code := <-done:
		unlock()
		t.Fatalf("apkit sign finished (exit %d) while the repository was locked", code)
	case <-time.After(300 * time.Millisecond):
	}
	unlock()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("apkit sign: exit %d", code)
		}
	case <-time.After(time.Minute):
		t.Fatal("apkit sign did not finish after the lock was released")
	}
}
