package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarball returns a .tar.gz of files (name → content; a name ending in
// "*" is executable, without the star).
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		mode := int64(0o644)
		if n, ok := strings.CutSuffix(name, "*"); ok {
			name, mode = n, 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// apkit new on tarballs served over HTTP: the build system is guessed
// from what is inside, the checksum is the tarball's, and the skeleton
// passes apkit lint.
func TestNewFromServedTarball(t *testing.T) {
	const mit = "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n"
	tarballs := map[string][]byte{
		"/rel/foo-1.2.3.tar.gz": tarball(t, map[string]string{
			"foo-1.2.3/CMakeLists.txt": "project(foo C)\n", "foo-1.2.3/include/foo.h": "int foo(void);\n",
			"foo-1.2.3/LICENSE": mit, "foo-1.2.3/Makefile": "all:\n",
		}),
		"/rel/auto-0.9.tar.gz":   tarball(t, map[string]string{"auto-0.9/configure*": "#!/bin/sh\n", "auto-0.9/Makefile.in": ""}),
		"/rel/gotool-2.0.tar.gz": tarball(t, map[string]string{"gotool-2.0/go.mod": "module example.org/gotool\n", "gotool-2.0/main.go": "package main\n"}),
		"/rel/crab-0.3.1.tar.gz": tarball(t, map[string]string{
			"crab-0.3.1/Cargo.toml": "[package]\nname = \"crab\"\ndescription = \"Pinches files\"\n", "crab-0.3.1/COPYING": mit,
		}),
		"/rel/snake-4.0.tar.gz":        tarball(t, map[string]string{"snake-4.0/pyproject.toml": "[project]\nname = \"snake\"\n"}),
		"/rel/plain-1.0.tar.gz":        tarball(t, map[string]string{"plain-1.0/Makefile": "all:\n"}),
		"/rel/mesa-ish-5.1.tar.gz":     tarball(t, map[string]string{"mesa-ish-5.1/meson.build": "project('m')\n"}),
		"/rel/perl-Foo-Bar-1.0.tar.gz": tarball(t, map[string]string{"Foo-Bar-1.0/Makefile.PL": "use ExtUtils::MakeMaker;\n"}),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := tarballs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	home := t.TempDir()
	env := map[string]string{"HOME": home, "APKIT_CONFIG": filepath.Join(home, "none.yaml"), "APKIT_ARCH": "x86_64",
		"APKIT_PACKAGER": "Jane Doe <jane@example.org>"}

	tests := []struct {
		path, pkgname string
		want          []string // lines of the APKBUILD
		notWant       []string
	}{
		{"/rel/foo-1.2.3.tar.gz", "foo", []string{
			"# Maintainer: Jane Doe <jane@example.org>", "pkgname=foo", "pkgver=1.2.3", `license="MIT"`,
			`makedepends="cmake samurai"`, `subpackages="$pkgname-dev $pkgname-doc"`,
			`source="` + srv.URL + `/rel/foo-$pkgver.tar.gz"`, `url="` + srv.URL + `"`, "\tcmake --build build",
		}, []string{"builddir="}},
		{"/rel/auto-0.9.tar.gz", "auto", []string{"\t--host=$CHOST \\", `subpackages="$pkgname-doc"`}, nil},
		{"/rel/gotool-2.0.tar.gz", "gotool", []string{`makedepends="go"`, `options="net"`, "\tgo build -v -o bin/$pkgname ."}, nil},
		{"/rel/crab-0.3.1.tar.gz", "crab", []string{`makedepends="cargo"`, `pkgdesc="Pinches files"`, `license="MIT"`, "\tcargo fetch --target=\"$CTARGET\" --locked"}, nil},
		{"/rel/snake-4.0.tar.gz", "snake", []string{`arch="noarch"`, `depends="python3"`, "\tgpep517 build-wheel \\"}, nil},
		{"/rel/plain-1.0.tar.gz", "plain", []string{"\tmake DESTDIR=\"$pkgdir\" PREFIX=/usr install"}, nil},
		{"/rel/mesa-ish-5.1.tar.gz", "mesa-ish", []string{`makedepends="meson"`, "\tmeson compile -C output"}, nil},
		{"/rel/perl-Foo-Bar-1.0.tar.gz", "perl-foo-bar", []string{`depends="perl"`, `builddir="$srcdir/Foo-Bar-$pkgver"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.pkgname, func(t *testing.T) {
			out := filepath.Join(home, "aports")
			code, stdout, stderr := runApkit(t, env, "new", "--dir", out, srv.URL+tt.path)
			if code != 0 {
				t.Fatalf("apkit new: exit %d\n%s", code, stderr)
			}
			path := filepath.Join(out, tt.pkgname, "APKBUILD")
			if strings.TrimSpace(stdout) != path {
				t.Errorf("stdout %q, want %q", stdout, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			sum := sha512.Sum512(tarballs[tt.path])
			name := tt.pkgname + "-" + strings.TrimPrefix(strings.TrimSuffix(filepath.Base(tt.path), ".tar.gz"), tt.pkgname+"-") + ".tar.gz"
			if tt.pkgname == "perl-foo-bar" {
				name = "perl-Foo-Bar-1.0.tar.gz"
			}
			for _, w := range append(tt.want, hex.EncodeToString(sum[:])+"  "+name) {
				if !strings.Contains(text, w+"\n") {
					t.Errorf("APKBUILD lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("APKBUILD has %q:\n%s", w, text)
				}
			}
			code, stdout, stderr = runApkit(t, env, "lint", filepath.Dir(path))
			if code != 0 || stdout != "" {
				t.Errorf("apkit lint: exit %d\n%s%s\n%s", code, stdout, stderr, text)
			}
			// What apkit new wrote, apkit fetch verifies.
			if code, _, stderr := runApkit(t, env, "fetch", filepath.Dir(path)); code != 0 {
				t.Errorf("apkit fetch: exit %d\n%s", code, stderr)
			}
		})
	}

	t.Run("exists", func(t *testing.T) {
		out := filepath.Join(home, "aports")
		code, _, stderr := runApkit(t, env, "new", "--dir", out, srv.URL+"/rel/foo-1.2.3.tar.gz")
		if code != 1 || !strings.Contains(stderr, "exists (--force replaces it)") {
			t.Errorf("exit %d: %s", code, stderr)
		}
		if code, _, stderr := runApkit(t, env, "new", "--force", "--type", "make", "--dir", out, srv.URL+"/rel/foo-1.2.3.tar.gz"); code != 0 {
			t.Errorf("--force: exit %d: %s", code, stderr)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		out := filepath.Join(home, "gone")
		code, _, stderr := runApkit(t, env, "new", "--dir", out, "--license", "MIT", srv.URL+"/rel/gone-1.0.tar.gz")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, "not fetched") || !strings.Contains(stderr, "apkit checksum") {
			t.Errorf("stderr: %s", stderr)
		}
		data, _ := os.ReadFile(filepath.Join(out, "gone", "APKBUILD"))
		if strings.Contains(string(data), "sha512sums") || !strings.Contains(string(data), "pkgver=1.0\n") {
			t.Errorf("APKBUILD:\n%s", data)
		}
	})
}
