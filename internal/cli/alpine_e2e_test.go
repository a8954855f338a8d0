package cli

import (
	"bytes"
	"crypto/rand"
	"debug/elf"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sandbox/sandboxtest"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// staticBusybox returns a statically linked busybox of this host, or
// skips the test.
func staticBusybox(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox here to make a tiny Alpine-like system from")
	}
	f, err := elf.Open(p)
	if err != nil {
		t.Skipf("busybox: %v", err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Skip("busybox here is dynamically linked; a static one is needed")
		}
	}
	return p
}

// busyboxFiles are the files of the test mirror's busybox package: the
// static busybox and links for the applets a build uses.
func busyboxFiles(busybox []byte) map[string]string {
	files := map[string]string{"bin/busybox": string(busybox)}
	for _, applet := range []string{"sh", "cat", "cp", "echo", "ln", "ls", "mkdir", "mv", "rm", "chmod", "install", "find", "sed", "grep", "touch", "env", "test", "true", "false", "id", "head", "tr", "sort", "stat", "readlink", "dirname", "basename", "printf", "tar", "gzip", "xargs", "uname"} {
		files["bin/"+applet] = "->busybox"
	}
	return files
}

// mirrorPkg is a package of the test mirror.
type mirrorPkg struct {
	name     string
	version  string // 1.0-r0 when empty
	depends  []string
	provides []string
	files    map[string]string // path -> content; "->target" makes a symlink
}

// writeMirror writes pkgs and a signed index as <dir>/<arch>/.
func writeMirror(t *testing.T, dir, arch string, key *sign.PrivateKey, pkgs []mirrorPkg) {
	t.Helper()
	out := filepath.Join(dir, arch)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var recs []*index.Record
	for _, p := range pkgs {
		stage := t.TempDir()
		for path, content := range p.files {
			full := filepath.Join(stage, path)
			os.MkdirAll(filepath.Dir(full), 0o755)
			if target, ok := strings.CutPrefix(content, "->"); ok {
				if err := os.Symlink(target, full); err != nil {
					t.Fatal(err)
				}
				continue
			}
			mode := os.FileMode(0o644)
			if strings.Contains(path, "bin/") || strings.Contains(path, ".so") {
				mode = 0o755
			}
			if err := os.WriteFile(full, []byte(content), mode); err != nil {
				t.Fatal(err)
			}
		}
		version := p.version
		if version == "" {
			version = "1.0-r0"
		}
		var buf bytes.Buffer
		pk, err := apk.Write(&buf, &apk.Input{
			Info: apk.PkgInfo{Name: p.name, Version: version, Arch: arch, License: "MIT", Description: "test " + p.name,
				BuildDate: 1700000000, Depends: p.depends, Provides: p.provides},
			Dir: stage,
			Key: key,
		})
		if err != nil {
			t.Fatalf("package %s: %v", p.name, err)
		}
		if err := os.WriteFile(filepath.Join(out, p.name+"-"+version+".apk"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, index.FromPackage(pk, int64(buf.Len())))
	}
	index.Sort(recs)
	var ix bytes.Buffer
	if err := index.WriteSigned(&ix, &index.Index{Description: "test mirror", Records: recs}, key, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "APKINDEX.tar.gz"), ix.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBuildAlpine builds a recipe with --alpine against a tiny Alpine-like
// system served on 127.0.0.1: busybox with /bin/sh, fake alpine-base,
// build-base and abuild metapackages, and a tool only the mirror has.
// A second build reuses the cached root offline, and no build changes it.
func TestBuildAlpine(t *testing.T) {
	sandboxtest.RequireBwrap(t)
	bb := staticBusybox(t)
	busybox, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	arch := apkbuild.HostArch()
	key, err := sign.GenerateKey(rand.Reader, "mirror@example.org", 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	writeKeyFiles(t, key, filepath.Join(dir, "mirror-priv"), keys)
	bbFiles := busyboxFiles(busybox)
	mirror := filepath.Join(dir, "mirror")
	writeMirror(t, filepath.Join(mirror, "v3.22", "main"), arch, key, []mirrorPkg{
		{name: "busybox", files: bbFiles, provides: []string{"/bin/sh", "cmd:sh=1.0-r0"}},
		{name: "alpine-base", depends: []string{"busybox"}, files: map[string]string{"etc/alpine-release": "3.22.0-test\n", "var/tmp/.keep": ""}},
		{name: "build-base", depends: []string{"busybox"}},
		{name: "abuild", depends: []string{"busybox"}},
		{name: "greeter-tool", files: map[string]string{"usr/bin/greeter-tool": "#!/bin/sh\necho greeted by the mirror tool\n"}},
	})
	writeMirror(t, filepath.Join(mirror, "v3.22", "community"), arch, key, nil)
	srv := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer srv.Close()

	// The mirror bootstraps a root with apkit add, as it would on any host.
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": filepath.Join(dir, "apkit.yaml")}
	root := filepath.Join(dir, "root")
	code, out, errOut := runApkit(t, env, "add", "--root", root, "--initdb", "--keys-dir", keys, "-X", srv.URL+"/v3.22/main", "alpine-base")
	if code != 0 {
		t.Fatalf("apkit add --initdb: exit %d\n%s%s", code, out, errOut)
	}
	if target, err := os.Readlink(filepath.Join(root, "bin", "sh")); err != nil || target != "busybox" {
		t.Fatalf("root/bin/sh: %q, %v", target, err)
	}

	// A recipe that needs the mirror's tool and reads the root's files.
	recipe := filepath.Join(dir, "aports", "main", "hello")
	os.MkdirAll(recipe, 0o755)
	os.WriteFile(filepath.Join(recipe, "APKBUILD"), []byte(`# Maintainer: Jane Doe <jane@example.org>
pkgname=hello
pkgver=1.0
pkgrel=0
pkgdesc="Built in an Alpine root"
url="https://example.org"
arch="noarch"
license="MIT"
makedepends="greeter-tool"
options="!check"

build() {
	cd "$srcdir"
	greeter-tool > greeting
	cat /etc/alpine-release > release
	if echo changed > /etc/alpine-release 2>/dev/null; then echo root-writable > rootcheck; else echo root-read-only > rootcheck; fi
	echo scratch > /var/tmp/scratch && cat /var/tmp/scratch >> rootcheck
}

package() {
	mkdir -p "$pkgdir"/usr/share/hello
	cd "$srcdir"
	cp greeting release rootcheck "$pkgdir"/usr/share/hello/
}
`), 0o644)
	priv := filepath.Join(dir, "priv")
	bkey, err := sign.GenerateKey(rand.Reader, "builder@example.org", 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signing := writeKeyFiles(t, bkey, priv, priv)
	packages := filepath.Join(dir, "packages")
	os.WriteFile(env["APKIT_CONFIG"], []byte("signing_key: "+signing+"\nalpine_mirror: "+srv.URL+"\nkeys_dirs: "+keys+"\n"), 0o644)
	build := func(extra ...string) {
		t.Helper()
		args := append([]string{"build", "--alpine", "v3.22", "--repodest", packages}, extra...)
		code, out, errOut := runApkit(t, env, append(args, recipe)...)
		if code != 0 {
			t.Fatalf("apkit build --alpine: exit %d\n%s%s", code, out, errOut)
		}
	}
	build()
	roots, err := filepath.Glob(filepath.Join(dir, ".cache", "apkit", "roots", "v3.22-"+arch+"-*"))
	if err != nil || len(roots) != 1 {
		t.Fatalf("cached roots: %q, %v", roots, err)
	}

	// Install what was built and read it.
	check := func(name string) {
		t.Helper()
		r := filepath.Join(dir, name)
		code, out, errOut := runApkit(t, env, "add", "--root", r, "--initdb", "--keys-dir", priv, "-X", filepath.Join(packages, "main"), "hello")
		if code != 0 {
			t.Fatalf("apkit add hello: exit %d\n%s%s", code, out, errOut)
		}
		for f, want := range map[string]string{"greeting": "greeted by the mirror tool\n", "release": "3.22.0-test\n", "rootcheck": "root-read-only\nscratch\n"} {
			got, err := os.ReadFile(filepath.Join(r, "usr", "share", "hello", f))
			if err != nil || string(got) != want {
				t.Errorf("%s: usr/share/hello/%s: %q, %v; want %q", name, f, got, err, want)
			}
		}
	}
	check("installed1")

	// Offline, with the mirror gone, the cached root serves again.
	srv.Close()
	build("--offline", "--replace")
	again, _ := filepath.Glob(filepath.Join(dir, ".cache", "apkit", "roots", "v3.22-"+arch+"-*"))
	if len(again) != 1 || again[0] != roots[0] {
		t.Errorf("cached roots after a second build: %q, want %q", again, roots)
	}
	if data, err := os.ReadFile(filepath.Join(roots[0], "etc", "alpine-release")); err != nil || string(data) != "3.22.0-test\n" {
		t.Errorf("cached root's etc/alpine-release: %q, %v", data, err)
	}
	check("installed2")
}
