package build_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/build"
)

func TestReproducibility(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "main", "foo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	apkbuild := filepath.Join(dir, "APKBUILD")
	if err := os.WriteFile(apkbuild, []byte("pkgname=foo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Unix(1600000000, 0)
	if err := os.Chtimes(apkbuild, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("outside git", func(t *testing.T) {
		sde, commit, err := build.Reproducibility(ctx, dir)
		if err != nil || sde != mtime.Unix() || commit != "" {
			t.Fatalf("got %d %q %v, want %d \"\" nil", sde, commit, err, mtime.Unix())
		}
	})
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := filepath.Dir(filepath.Dir(dir))
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=@1650000000 +0000", "GIT_COMMITTER_DATE=@1650000000 +0000",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "add foo")
	head := git("rev-parse", "HEAD")

	t.Run("committed", func(t *testing.T) {
		// Work directories and the log do not make the recipe dirty.
		os.MkdirAll(filepath.Join(dir, "src"), 0o755)
		os.WriteFile(filepath.Join(dir, "src", "x"), []byte("x"), 0o644)
		os.WriteFile(filepath.Join(dir, "build.log"), []byte("x"), 0o644)
		sde, commit, err := build.Reproducibility(ctx, dir)
		if err != nil || sde != 1650000000 || commit != head {
			t.Fatalf("got %d %q %v, want 1650000000 %q", sde, commit, err, head)
		}
	})
	t.Run("dirty", func(t *testing.T) {
		if err := os.WriteFile(apkbuild, []byte("pkgname=foo\npkgrel=1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(apkbuild, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		sde, commit, err := build.Reproducibility(ctx, dir)
		if err != nil || sde != mtime.Unix() || commit != head+"-dirty" {
			t.Fatalf("got %d %q %v, want %d %q", sde, commit, err, mtime.Unix(), head+"-dirty")
		}
	})
}
