package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSourceDateFromEnv follows abuild's set_source_date: a given
// SOURCE_DATE_EPOCH wins; a given commit that is not -dirty dates the
// build by its committer time; a -dirty one by the APKBUILD's mtime.
func TestSourceDateFromEnv(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := t.TempDir()
	dir := filepath.Join(root, "main", "foo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	apkbuild := filepath.Join(dir, "APKBUILD")
	if err := os.WriteFile(apkbuild, []byte("pkgname=foo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.org",
			"GIT_AUTHOR_DATE=@1500000000 +0000", "GIT_COMMITTER_DATE=@1500000000 +0000")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "foo")
	first := git("rev-parse", "HEAD")
	mtime := time.Unix(1600000000, 0)
	if err := os.Chtimes(apkbuild, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		env    map[string]string
		sde    int64
		commit string
	}{
		{map[string]string{"SOURCE_DATE_EPOCH": "42", "ABUILD_LAST_COMMIT": "abc"}, 42, "abc"},
		{map[string]string{"ABUILD_LAST_COMMIT": first}, 1500000000, first},
		{map[string]string{"ABUILD_LAST_COMMIT": first + "-dirty"}, mtime.Unix(), first + "-dirty"},
		{map[string]string{"SOURCE_DATE_EPOCH": "42"}, 42, first},
		{nil, 1500000000, first},
	} {
		sde, commit, err := sourceDate(ctx, dir, c.env)
		if err != nil || sde != c.sde || commit != c.commit {
			t.Errorf("env %v: got %d %q %v, want %d %q", c.env, sde, commit, err, c.sde, c.commit)
		}
	}
}
