package cli

import (
	"crypto/rand"
	"crypto/sha512"
	"debug/elf"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/sandbox/sandboxtest"
	"github.com/apkit-dev/apkit/pkg/scan/scantest"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// TestBuildAlpineTracesRootDatabase builds, with --alpine, a recipe whose
// ELF files need musl's C library, a library of the mirror and glibc's
// libc.so.6, and checks that tracing takes its providers from the Alpine
// root's apk database, not from the host:
//   - hello depends on so:libc.musl-<arch>.so.1, which the root's musl
//     provides (a glibc host has no such library), and on so:libgreet.so.1,
//     which libgreet provides in the database while its file lies where no
//     search of library directories finds it;
//   - hello-compat needs libc.so.6, which the root's libc6-shim provides, so
//     it depends on so:libc.so.6 and no foreign C library is reported (a
//     host without apk's database would report it).
//
// What was built installs, with its libraries, from the mirror.
func TestBuildAlpineTracesRootDatabase(t *testing.T) {
	sandboxtest.RequireBwrap(t)
	bb := staticBusybox(t)
	arch := apkbuild.HostArch()
	obj, ok := scantest.ForArch(arch)
	if !ok {
		t.Skipf("no 64-bit ELF files for %s", arch)
	}
	busybox, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	libc := scantest.MuslLibc(arch)
	ldso := "ld-musl-" + scantest.MuslArch(arch) + ".so.1"
	elfFile := func(typ elf.Type, interp, soname string, needed ...string) string {
		e := obj
		e.Type, e.Interp, e.Soname, e.Needed = typ, interp, soname, needed
		return string(e.Bytes())
	}

	dir := t.TempDir()
	key, err := sign.GenerateKey(rand.Reader, "mirror@example.org", 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	writeKeyFiles(t, key, filepath.Join(dir, "mirror-priv"), keys)
	mirror := filepath.Join(dir, "mirror")
	writeMirror(t, filepath.Join(mirror, "v3.22", "main"), arch, key, []mirrorPkg{
		{name: "busybox", files: busyboxFiles(busybox), provides: []string{"/bin/sh", "cmd:sh=1.0-r0"}},
		{name: "alpine-base", depends: []string{"busybox"}, files: map[string]string{"etc/alpine-release": "3.22.0-test\n"}},
		{name: "build-base", depends: []string{"busybox"}},
		{name: "abuild", depends: []string{"busybox"}},
		// As Alpine's musl: the dynamic linker is the C library.
		{name: "musl", version: "1.2.5-r0", provides: []string{"so:" + libc + "=1"}, files: map[string]string{
			"lib/" + ldso: elfFile(elf.ET_DYN, "", libc),
			"lib/" + libc: "->" + ldso,
		}},
		// A library that depends on musl by its so: name, as Alpine's
		// libraries do, and lies outside the library directories.
		{name: "libgreet", depends: []string{"so:" + libc}, provides: []string{"so:libgreet.so.1=1.0.0"}, files: map[string]string{
			"usr/lib/greet/libgreet.so.1": elfFile(elf.ET_DYN, "", "libgreet.so.1", libc),
		}},
		// A glibc compatibility layer that provides libc.so.6.
		{name: "libc6-shim", depends: []string{"so:" + libc}, provides: []string{"so:libc.so.6=6"}, files: map[string]string{
			"usr/lib/libc6-shim/libc.so.6": elfFile(elf.ET_DYN, "", "libc.so.6", libc),
		}},
	})
	writeMirror(t, filepath.Join(mirror, "v3.22", "community"), arch, key, nil)
	srv := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer srv.Close()

	// The ELF files are the recipe's sources, as prebuilt binaries are.
	recipe := filepath.Join(dir, "aports", "main", "hello")
	if err := os.MkdirAll(recipe, 0o755); err != nil {
		t.Fatal(err)
	}
	var sums strings.Builder
	for _, f := range []struct{ name, content string }{
		{"hello.elf", elfFile(elf.ET_DYN, "/lib/"+ldso, "", "libhello.so.1", "libgreet.so.1", libc)},
		{"libhello.elf", elfFile(elf.ET_DYN, "", "libhello.so.1", libc)},
		{"hello-glibc.elf", elfFile(elf.ET_DYN, "/lib64/ld-linux-x86-64.so.2", "", "libc.so.6")},
	} {
		if err := os.WriteFile(filepath.Join(recipe, f.name), []byte(f.content), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sums, "%x  %s\n", sha512.Sum512([]byte(f.content)), f.name)
	}
	if err := os.WriteFile(filepath.Join(recipe, "APKBUILD"), []byte(`# Maintainer: Jane Doe <jane@example.org>
pkgname=hello
pkgver=1.0
pkgrel=0
pkgdesc="Linked against the root's C library"
url="https://example.org"
arch="all"
license="MIT"
makedepends="libgreet libc6-shim"
subpackages="$pkgname-compat"
options="!check !strip"
source="hello.elf libhello.elf hello-glibc.elf"

package() {
	mkdir -p "$pkgdir"/usr/bin "$pkgdir"/usr/lib
	cp "$srcdir"/hello.elf "$pkgdir"/usr/bin/hello
	cp "$srcdir"/libhello.elf "$pkgdir"/usr/lib/libhello.so.1
	chmod 755 "$pkgdir"/usr/bin/hello "$pkgdir"/usr/lib/libhello.so.1
}

compat() {
	pkgdesc="Linked against glibc's libc.so.6"
	mkdir -p "$subpkgdir"/usr/bin
	cp "$srcdir"/hello-glibc.elf "$subpkgdir"/usr/bin/hello-glibc
	chmod 755 "$subpkgdir"/usr/bin/hello-glibc
}

sha512sums="
`+sums.String()+`"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(dir, "priv")
	bkey, err := sign.GenerateKey(rand.Reader, "builder@example.org", 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signing := writeKeyFiles(t, bkey, priv, keys)
	packages := filepath.Join(dir, "packages")
	env := map[string]string{"HOME": dir, "APKIT_CONFIG": filepath.Join(dir, "apkit.yaml")}
	os.WriteFile(env["APKIT_CONFIG"], []byte("signing_key: "+signing+"\nalpine_mirror: "+srv.URL+"\nkeys_dirs: "+keys+"\n"), 0o644)
	code, out, errOut := runApkit(t, env, "build", "--alpine", "v3.22", "--repodest", packages, recipe)
	if code != 0 {
		t.Fatalf("apkit build --alpine: exit %d\n%s%s", code, out, errOut)
	}
	for _, bad := range []string{"a C library other than", "no provider found"} {
		if strings.Contains(errOut, bad) {
			t.Errorf("apkit build --alpine printed %q:\n%s", bad, errOut)
		}
	}

	for name, want := range map[string][]string{
		"hello":        {"so:" + libc, "so:libgreet.so.1"},
		"hello-compat": {"so:libc.so.6"},
	} {
		f, err := os.Open(filepath.Join(packages, "main", arch, name+"-1.0-r0.apk"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := apk.Read(f, &apk.ReadOptions{ControlOnly: true})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, p.Info.AutoDepends); diff != "" {
			t.Errorf("%s: .PKGINFO's detected depends (-want +got):\n%s", name, diff)
		}
	}

	// On Alpine, the depends install the root's providers.
	root := filepath.Join(dir, "installed")
	code, out, errOut = runApkit(t, env, "add", "--root", root, "--initdb", "--keys-dir", keys, "-X", srv.URL+"/v3.22/main", "-X", filepath.Join(packages, "main"), "hello", "hello-compat")
	if code != 0 {
		t.Fatalf("apkit add hello hello-compat: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range []string{"lib/" + ldso, "usr/lib/greet/libgreet.so.1", "usr/lib/libc6-shim/libc.so.6", "usr/bin/hello", "usr/lib/libhello.so.1", "usr/bin/hello-glibc"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err != nil {
			t.Errorf("installed root: %v", err)
		}
	}
}
