package install_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/install"
)

// An install killed between writing a file under its temporary name and
// renaming it leaves that file; the next install of the package writes over
// it (a regular file, a link or a directory of that name).
func TestInstallOverStaleTemporaries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := filepath.Join(t.TempDir(), "repo")
	recs := buildRepo(t, repo, testKey(t), testPkg{name: "tool", version: "1.0-r0", files: []entry{
		{path: "usr/"}, {path: "usr/bin/"},
		{path: "usr/bin/tool", mode: 0o755, content: "new tool\n"},
		{path: "usr/bin/t", content: "->tool"},
		{path: "usr/bin/other", content: "other\n"},
	}})
	tmpName := func(p string) string {
		s := sha1.Sum([]byte(recs[0].Checksum + "\x00" + p))
		return ".apk." + hex.EncodeToString(s[:12])
	}
	root := filepath.Join(t.TempDir(), "root")
	bin := filepath.Join(root, "usr", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, stale := range map[string]func(string) error{
		"usr/bin/tool":  func(p string) error { return os.WriteFile(p, []byte("half a tool"), 0o600) },
		"usr/bin/t":     func(p string) error { return os.Symlink("elsewhere", p) },
		"usr/bin/other": func(p string) error { return os.Mkdir(p, 0o755) },
	} {
		if err := stale(filepath.Join(bin, tmpName(name))); err != nil {
			t.Fatal(err)
		}
	}
	r, err := install.OpenRepository(ctx, repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := install.Install(ctx, root, planOf(t, r, "tool"), &install.Options{Arch: arch, NoScripts: true}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(bin, "tool")); err != nil || string(data) != "new tool\n" {
		t.Errorf("usr/bin/tool: %q, %v", data, err)
	}
	if l, err := os.Readlink(filepath.Join(bin, "t")); err != nil || l != "tool" {
		t.Errorf("usr/bin/t -> %q, %v", l, err)
	}
	if data, err := os.ReadFile(filepath.Join(bin, "other")); err != nil || string(data) != "other\n" {
		t.Errorf("usr/bin/other: %q, %v", data, err)
	}
	if m, _ := filepath.Glob(filepath.Join(bin, ".apk.*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// Files get their packaged modes whether they can be made with them at
// once (the umask allows it) or need a chmod after chown (set-id bits, or
// bits the umask takes away).
func TestInstallFileModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := filepath.Join(t.TempDir(), "repo")
	modes := map[string]fs.FileMode{
		"usr/bin/plain":   0o755,
		"usr/bin/setuid":  fs.ModeSetuid | 0o755,
		"usr/bin/setgid":  fs.ModeSetgid | 0o711,
		"usr/bin/private": 0o600,
		"usr/bin/shared":  0o666,
		"usr/bin/odd":     0o407,
	}
	files := []entry{{path: "usr/"}, {path: "usr/bin/"}}
	for p, m := range modes {
		files = append(files, entry{path: p, mode: m, content: p + "\n"})
	}
	buildRepo(t, repo, testKey(t), testPkg{name: "modes", version: "1.0-r0", files: files})
	r, err := install.OpenRepository(ctx, repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "root")
	if _, err := install.Install(ctx, root, planOf(t, r, "modes"), &install.Options{Arch: arch, NoScripts: true}); err != nil {
		t.Fatal(err)
	}
	for p, m := range modes {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != m {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), m)
		}
	}
}
