package repo_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// apkBinary returns Alpine's apk (apk-tools 2.x or 3.x) to check the
// repository with: $APKIT_TEST_APK, else apk on PATH. Without one the
// test is skipped: apk is not a Debian package.
func apkBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("APKIT_TEST_APK"); p != "" {
		return p
	}
	p, err := exec.LookPath("apk")
	if err != nil {
		t.Skip("no apk binary (set APKIT_TEST_APK to one built from apk-tools)")
	}
	return p
}

// TestApkInstallsFromRepository builds packages, adds them with pkg/repo and
// has the real apk verify them and install them from the repository with
// signature checking on.
func TestApkInstallsFromRepository(t *testing.T) {
	apkBin := apkBinary(t)
	ctx := context.Background()
	tmp := t.TempDir()
	k := key(t)
	keys := filepath.Join(tmp, "keys")
	os.MkdirAll(keys, 0o755)
	pub, err := sign.MarshalPublicKey(&k.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(keys, k.Name), pub, 0o644)

	var pkgs []string
	for _, p := range []struct{ name, arch string }{{"hello", "x86_64"}, {"hello-data", "noarch"}} {
		tree := filepath.Join(tmp, "tree-"+p.name)
		os.MkdirAll(filepath.Join(tree, "usr", "share", p.name), 0o755)
		os.WriteFile(filepath.Join(tree, "usr", "share", p.name, "README"), []byte(p.name+"\n"), 0o644)
		info := apk.PkgInfo{Name: p.name, Version: "1.0-r0", Arch: p.arch, License: "MIT", Description: "test",
			URL: "https://example.com/", BuildDate: 1700000000, Origin: "hello"}
		if p.name == "hello" {
			info.Depends = []string{"hello-data"}
		}
		path := filepath.Join(tmp, info.FileName())
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = apk.Write(f, &apk.Input{Info: info, Dir: tree, Key: k})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, path)
	}
	repoDir := filepath.Join(tmp, "repo")
	r, err := repo.Open(filepath.Join(repoDir, "x86_64"), repo.Options{Key: k, Description: "test", Now: func() time.Time { return time.Unix(1700000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(ctx, pkgs...); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(apkBin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("apk %s: %v\n%s", strings.Join(args, " "), err, out.Bytes())
		}
		return out.String()
	}
	files, _ := filepath.Glob(filepath.Join(repoDir, "x86_64", "*.apk"))
	files = append(files, r.IndexPath())
	out := run(append([]string{"verify", "--keys-dir", keys}, files...)...)
	if strings.Count(out, "OK") != 3 {
		t.Errorf("apk verify:\n%s", out)
	}
	root := filepath.Join(tmp, "root")
	os.MkdirAll(root, 0o755)
	common := []string{"--root", root, "--arch", "x86_64", "--keys-dir", keys, "--repositories-file", "/dev/null", "--no-network", "--no-cache"}
	run(append(common, "add", "--initdb")...)
	run(append(common, "-X", repoDir, "add", "hello")...)
	for _, f := range []string{"usr/share/hello/README", "usr/share/hello-data/README"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
}
