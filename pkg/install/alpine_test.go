package install_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// alpineRepo lays out a local repository in a temporary directory whose
// <arch>/ entries link to the real Alpine fixtures named.
func alpineRepo(t *testing.T, arch string, files map[string]string) string {
	t.Helper()
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, arch), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.Symlink(src, filepath.Join(repo, arch, name)); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// Alpine's real indexes verify with the embedded release keys of their
// arch, and not with another arch's.
func TestOpenRealAlpineIndex(t *testing.T) {
	t.Parallel()
	dir := alpinetest.Dir(t)
	ctx := context.Background()
	repo := alpineRepo(t, "aarch64", map[string]string{"APKINDEX.tar.gz": filepath.Join(dir, "alpine-317", "APKINDEX.tar.gz")})
	kr, err := install.Keyring(filepath.Join(t.TempDir(), "not-yet"), "aarch64", "", true)
	if err != nil {
		t.Fatal(err)
	}
	r, err := install.OpenRepository(ctx, repo, "aarch64", kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Index.Records) != 5004 || r.Signer != "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub" {
		t.Errorf("%d records, signed by %q", len(r.Index.Records), r.Signer)
	}
	if p := r.Find("alpine-baselayout"); p == nil || p.Record.Version != "3.4.0-r0" {
		t.Errorf("alpine-baselayout: %+v", p)
	}
	kr, err = install.Keyring("", "x86_64", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := install.OpenRepository(ctx, repo, "aarch64", kr, nil); !errors.Is(err, sign.ErrUntrusted) {
		t.Errorf("with x86_64 keys: err = %v, want untrusted", err)
	}
}

// The root's /etc/apk/keys is trusted, links to keys inside the root
// followed as the alpine-keys package lays them out.
func TestKeyringFromRoot(t *testing.T) {
	t.Parallel()
	dir := alpinetest.Dir(t)
	root := t.TempDir()
	name := "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub"
	data, err := os.ReadFile(filepath.Join(dir, "keys", name))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "usr/share/apk/keys/aarch64"), 0o755)
	os.MkdirAll(filepath.Join(root, "etc/apk/keys"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/share/apk/keys/aarch64", name), data, 0o644)
	os.Symlink("/usr/share/apk/keys/aarch64/"+name, filepath.Join(root, "etc/apk/keys", name))
	kr, err := install.Keyring(root, "aarch64", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Key(name) == nil || kr.Len() != 1 {
		t.Errorf("keys %v, skipped %v", kr.Names(), kr.Skipped)
	}

	// Keys placed by an install are trusted from the root afterwards.
	keys, err := install.AlpineKeys("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	root2 := t.TempDir()
	if _, err := install.Install(context.Background(), root2, nil, &install.Options{Arch: "x86_64", Keys: keys}); err != nil {
		t.Fatal(err)
	}
	kr, err = install.Keyring(root2, "x86_64", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Len() != 3 || kr.Key("alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub") == nil {
		t.Errorf("keys from the root: %v", kr.Names())
	}
}

// A real Alpine package installs with its real index record: its files,
// modes and database entry as apk makes them.
func TestInstallRealAlpinePackage(t *testing.T) {
	t.Parallel()
	dir := alpinetest.Dir(t)
	const file = "alpine-baselayout-3.2.0-r23.apk"
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	p, err := apk.Read(bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := index.FromPackage(p, int64(len(data)))
	if rec.Checksum != "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=" {
		t.Fatalf("C:%s, apk index gives Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=", rec.Checksum)
	}
	repo := alpineRepo(t, "aarch64", map[string]string{file: filepath.Join(dir, file)})
	ctx := context.Background()
	root := t.TempDir()
	plan := []install.Package{{Record: rec, Repository: repo}}
	if _, err := install.Install(ctx, root, plan, &install.Options{Arch: "aarch64", NoScripts: true}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{
		"tmp":               fs.ModeDir | fs.ModeSticky | 0o777,
		"root":              fs.ModeDir | 0o700,
		"etc/crontabs/root": 0o600,
		"sbin/mkmntdirs":    0o755,
		"var/run":           fs.ModeSymlink | 0o777,
	} {
		fi, err := os.Lstat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	db, err := install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	ip := db.Find("alpine-baselayout")
	if ip == nil {
		t.Fatal("not in the database")
	}
	if len(ip.Scripts) != 4 {
		t.Errorf("%d scripts kept, want 4", len(ip.Scripts))
	}
	files, checked := 0, 0
	want := map[string]string{}
	for _, f := range p.Files {
		if f.Checksum != "" {
			want[f.Path] = f.Checksum
		}
	}
	for _, d := range ip.Dirs {
		for _, f := range d.Files {
			files++
			h, ok := want[filepath.Join(d.Name, f.Name)]
			if !ok {
				continue
			}
			id, err := index.ParseIdentity(f.Checksum)
			if err != nil || index.Identity(id) != f.Checksum || !strings.EqualFold(hexOf(id), h) {
				t.Errorf("%s/%s: Z:%s, package says %s", d.Name, f.Name, f.Checksum, h)
			}
			checked++
		}
	}
	if files == 0 || checked != len(want) {
		t.Errorf("%d files, %d checksums checked of %d", files, checked, len(want))
	}
	raw, _ := os.ReadFile(filepath.Join(root, install.InstalledFile))
	for _, s := range []string{"C:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=\nP:alpine-baselayout\nV:3.2.0-r23\nA:aarch64\nS:11012\nI:339968\n", "F:tmp\nM:0:0:1777\n", "F:root\nM:0:0:700\n"} {
		if !bytes.Contains(raw, []byte(s)) {
			t.Errorf("installed lacks %q", s)
		}
	}

	// The same file under a record with another identity is refused.
	bad := rec.Clone()
	bad.Checksum = "Q1MMRN4Hsck311jEm7UhXLcpcMVyg="
	_, err = install.Install(ctx, t.TempDir(), []install.Package{{Record: bad, Repository: repo}}, &install.Options{Arch: "aarch64", NoScripts: true})
	if !errors.Is(err, install.ErrIdentityMismatch) || !strings.Contains(err.Error(), "alpine-baselayout-3.2.0-r23") {
		t.Errorf("err = %v", err)
	}
}
