package apkbuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestParseNewSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arg  string
		want NewSource
	}{
		{"hello-2.12.1", NewSource{Pkgname: "hello", Pkgver: "2.12.1"}},
		{"hello", NewSource{Pkgname: "hello"}},
		{"Foo-Bar-1.0", NewSource{Pkgname: "foo-bar", Pkgver: "1.0"}},
		{"https://ftp.gnu.org/gnu/hello/hello-2.12.1.tar.gz", NewSource{
			Pkgname: "hello", Pkgver: "2.12.1", URL: "https://ftp.gnu.org/gnu/hello/hello-2.12.1.tar.gz", Name: "hello-2.12.1.tar.gz",
			Source: "https://ftp.gnu.org/gnu/hello/hello-$pkgver.tar.gz", Homepage: "https://ftp.gnu.org",
		}},
		{"https://dl.example.org/v1.2/tool-1.2.tar.xz", NewSource{
			Pkgname: "tool", Pkgver: "1.2", URL: "https://dl.example.org/v1.2/tool-1.2.tar.xz", Name: "tool-1.2.tar.xz",
			Source: "https://dl.example.org/v$pkgver/tool-$pkgver.tar.xz", Homepage: "https://dl.example.org",
		}},
		{"https://github.com/Owner/Repo/archive/refs/tags/v3.4.5.tar.gz", NewSource{
			Pkgname: "repo", Pkgver: "3.4.5", URL: "https://github.com/Owner/Repo/archive/refs/tags/v3.4.5.tar.gz", Name: "repo-3.4.5.tar.gz",
			Source:   "$pkgname-$pkgver.tar.gz::https://github.com/Owner/Repo/archive/refs/tags/v$pkgver.tar.gz",
			Homepage: "https://github.com/Owner/Repo",
		}},
		{"https://github.com/o/r/archive/1.0.tar.gz", NewSource{
			Pkgname: "r", Pkgver: "1.0", URL: "https://github.com/o/r/archive/refs/tags/1.0.tar.gz", Name: "r-1.0.tar.gz",
			Source: "$pkgname-$pkgver.tar.gz::https://github.com/o/r/archive/refs/tags/$pkgver.tar.gz", Homepage: "https://github.com/o/r",
		}},
	}
	for _, tt := range tests {
		got, err := ParseNewSource(tt.arg)
		if err != nil {
			t.Errorf("%s: %v", tt.arg, err)
			continue
		}
		if diff := cmp.Diff(tt.want, *got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.arg, diff)
		}
	}
	for _, bad := range []string{"file:///etc/passwd", "a/b", "https://example.org/"} {
		if _, err := ParseNewSource(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestNewSourceRename(t *testing.T) {
	t.Parallel()
	s, err := ParseNewSource("https://example.org/download/v1.0.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	s.Pkgver = "1.0"
	s.Rename("foo")
	if s.Name != "foo-1.0.tar.gz" || s.Source != "$pkgname-$pkgver.tar.gz::https://example.org/download/v1.0.tar.gz" {
		t.Errorf("Rename: %+v", s)
	}
}

func TestGuessBuildSystem(t *testing.T) {
	t.Parallel()
	exe := &fstest.MapFile{Mode: 0o755}
	file := &fstest.MapFile{}
	tests := []struct {
		name    string
		files   fstest.MapFS
		pkgname string
		want    BuildSystem
	}{
		{"autotools", fstest.MapFS{"configure": exe, "Makefile.in": file, "CMakeLists.txt": file}, "x", Autotools},
		{"configure not executable", fstest.MapFS{"configure": file, "Makefile": file}, "x", Make},
		{"perl file", fstest.MapFS{"Makefile.PL": file}, "x", Perl},
		{"perl name", nil, "perl-foo", Perl},
		{"meson", fstest.MapFS{"meson.build": file, "CMakeLists.txt": file}, "x", Meson},
		{"cmake", fstest.MapFS{"CMakeLists.txt": file, "Makefile": file}, "x", CMake},
		{"go", fstest.MapFS{"go.mod": file, "Makefile": file}, "x", Go},
		{"rust", fstest.MapFS{"Cargo.toml": file}, "x", Rust},
		{"python pyproject", fstest.MapFS{"pyproject.toml": file}, "x", Python},
		{"python setup.py", fstest.MapFS{"setup.py": file}, "x", Python},
		{"python name", nil, "py3-foo", Python},
		{"make", fstest.MapFS{"Makefile": file}, "x", Make},
		{"none", fstest.MapFS{"README": file}, "x", NoBuildSystem},
	}
	for _, tt := range tests {
		var got BuildSystem
		if tt.files == nil {
			got, _ = GuessBuildSystem(nil, tt.pkgname)
		} else {
			got, _ = GuessBuildSystem(tt.files, tt.pkgname)
		}
		if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestGuessLicense(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"MIT License\n\nPermission is hereby granted, free of charge, to any person":                            "MIT",
		"                                 Apache License\n                           Version 2.0, January 2004": "Apache-2.0",
		"GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007":                                                  "GPL-3.0-or-later",
		"GNU LESSER GENERAL PUBLIC LICENSE\n Version 2.1, February 1999":                                        "LGPL-2.1-or-later",
		"Redistribution and use in source and binary forms, with or without\nmodification":                      "BSD-2-Clause",
		"some words of our own": "",
	} {
		got, _ := GuessLicense(fstest.MapFS{"COPYING": {Data: []byte(text)}})
		if got != want {
			t.Errorf("%q: %q, want %q", text[:20], got, want)
		}
	}
}

// A skeleton evaluates and passes lint for every build system.
func TestSkeletonLints(t *testing.T) {
	t.Parallel()
	for _, bs := range BuildSystems {
		t.Run(string(bs), func(t *testing.T) {
			t.Parallel()
			sk := &Skeleton{Maintainer: "Jane Doe <jane@example.org>", Pkgname: "foo", Pkgver: "1.0", Pkgdesc: `A "quoted" $thing`,
				URL: "https://example.org", License: "MIT", BuildSystem: bs, Dev: true, Builddir: "Foo-$pkgver"}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "APKBUILD"), sk.Render(), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Load(dir, Options{Arch: "x86_64"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Pkgdesc != `A "quoted" $thing` || !strings.HasSuffix(r.Vars["builddir"], "/src/Foo-1.0") {
				t.Errorf("pkgdesc %q builddir %q", r.Pkgdesc, r.Vars["builddir"])
			}
			for _, f := range Lint(r) {
				t.Errorf("%s", f)
			}
			if strings.Contains(string(sk.Render()), "TODO") != (bs == NoBuildSystem) {
				t.Errorf("TODO placeholders:\n%s", sk.Render())
			}
		})
	}
}
