package apkbuild

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
)

// BuildSystem names how a project is built, for [Skeleton].
type BuildSystem string

// The build systems a [Skeleton] has templates for.
const (
	Autotools     BuildSystem = "autotools"
	CMake         BuildSystem = "cmake"
	Meson         BuildSystem = "meson"
	Python        BuildSystem = "python"
	Go            BuildSystem = "go"
	Rust          BuildSystem = "rust"
	Perl          BuildSystem = "perl"
	Make          BuildSystem = "make"
	NoBuildSystem BuildSystem = "none"
)

// BuildSystems lists every [BuildSystem], in the order [GuessBuildSystem]
// tries them.
var BuildSystems = []BuildSystem{Autotools, Perl, Meson, CMake, Go, Rust, Python, Make, NoBuildSystem}

// Skeleton is a new recipe, as `apkit new` writes it. Fields left empty
// are written as placeholders to edit.
type Skeleton struct {
	Maintainer string // "Name <email>", or "" for an empty Maintainer comment
	Pkgname    string
	Pkgver     string
	Pkgdesc    string
	URL        string
	License    string
	// Source is the source line, with $pkgver where the version was ("" for none).
	Source string
	// Builddir is the source's top directory under $srcdir, with $pkgver
	// where the version was; "" means abuild's default, $pkgname-$pkgver.
	Builddir    string
	BuildSystem BuildSystem
	// Dev adds a -dev subpackage (the source has C headers).
	Dev bool
}

// Placeholder is what [Skeleton.Render] writes for a value it was not given.
const Placeholder = "TODO"

// Render returns the APKBUILD text, without checksums.
func (s *Skeleton) Render() []byte {
	var b bytes.Buffer
	or := func(v string) string {
		if v == "" {
			return Placeholder
		}
		return v
	}
	line := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s=\"%s\"\n", name, value)
		}
	}
	fmt.Fprintf(&b, "# Contributor:%s\n# Maintainer:%s\n", prefixSpace(s.Maintainer), prefixSpace(s.Maintainer))
	fmt.Fprintf(&b, "pkgname=%s\npkgver=%s\npkgrel=0\n", s.Pkgname, s.Pkgver)
	line("pkgdesc", shellQuoted(or(s.Pkgdesc)))
	line("url", shellQuoted(or(s.URL)))
	arch := "all"
	if s.BuildSystem == Python {
		arch = "noarch"
	}
	line("arch", arch)
	line("license", shellQuoted(or(s.License)))
	t := templates[s.BuildSystem]
	if t == nil {
		t = templates[NoBuildSystem]
	}
	line("depends", t.depends)
	line("makedepends", t.makedepends)
	line("checkdepends", t.checkdepends)
	subs := t.subpackages
	if s.Dev && t.dev {
		subs = strings.TrimSpace("$pkgname-dev " + subs)
	}
	line("subpackages", subs)
	line("options", t.options)
	line("source", s.Source)
	if s.Builddir != "" && s.Builddir != "$pkgname-$pkgver" && s.Builddir != s.Pkgname+"-$pkgver" {
		line("builddir", "$srcdir/"+s.Builddir)
	}
	for _, f := range [][2]string{{"prepare", t.prepare}, {"build", t.build}, {"check", t.check}, {"package", t.pkg}} {
		if f[1] == "" {
			continue
		}
		fmt.Fprintf(&b, "\n%s() {\n", f[0])
		for _, l := range strings.Split(strings.Trim(f[1], "\n"), "\n") {
			b.WriteString("\t" + l + "\n")
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}

func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// shellQuoted escapes s for the inside of a double-quoted shell word.
func shellQuoted(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	return r.Replace(s)
}

// template is what one build system adds to a skeleton. Function bodies
// are written one tab in.
type template struct {
	depends, makedepends, checkdepends, subpackages, options string
	dev                                                      bool // may have a -dev subpackage
	prepare, build, check, pkg                               string
}

var templates = map[BuildSystem]*template{
	Autotools: {
		subpackages: "$pkgname-doc", dev: true,
		build: `./configure \
	--build=$CBUILD \
	--host=$CHOST \
	--prefix=/usr \
	--sysconfdir=/etc \
	--mandir=/usr/share/man \
	--localstatedir=/var
make`,
		check: "make check",
		pkg:   `make DESTDIR="$pkgdir" install`,
	},
	CMake: {
		makedepends: "cmake samurai", subpackages: "$pkgname-doc", dev: true,
		build: `cmake -B build -G Ninja \
	-DCMAKE_INSTALL_PREFIX=/usr \
	-DCMAKE_INSTALL_LIBDIR=lib \
	-DBUILD_SHARED_LIBS=ON \
	-DCMAKE_BUILD_TYPE=None
cmake --build build`,
		check: "ctest --test-dir build --output-on-failure",
		pkg:   `DESTDIR="$pkgdir" cmake --install build`,
	},
	Meson: {
		makedepends: "meson", subpackages: "$pkgname-doc", dev: true,
		build: `meson setup \
	--prefix=/usr \
	--sysconfdir=/etc \
	--mandir=/usr/share/man \
	--localstatedir=/var \
	--buildtype=plain \
	--wrap-mode=nodownload \
	. output
meson compile -C output`,
		check: "meson test --no-rebuild --print-errorlogs -C output",
		pkg:   `DESTDIR="$pkgdir" meson install --no-rebuild -C output`,
	},
	Python: {
		depends: "python3", makedepends: "py3-gpep517 py3-setuptools py3-wheel", checkdepends: "py3-pytest",
		subpackages: "$pkgname-pyc",
		build: `gpep517 build-wheel \
	--wheel-dir .dist \
	--output-fd 3 3>&1 >&2`,
		check: `python3 -m venv --clear --without-pip --system-site-packages .testenv
.testenv/bin/python3 -m installer .dist/*.whl
.testenv/bin/python3 -m pytest`,
		pkg: `python3 -m installer -d "$pkgdir" \
	.dist/*.whl`,
	},
	Go: {
		makedepends: "go", options: "net",
		build: `go build -v -o bin/$pkgname .`,
		check: "go test ./...",
		pkg:   `install -Dm755 bin/$pkgname -t "$pkgdir"/usr/bin/`,
	},
	Rust: {
		makedepends: "cargo", options: "net",
		prepare: `default_prepare
cargo fetch --target="$CTARGET" --locked`,
		build: "cargo build --frozen --release",
		check: "cargo test --frozen",
		pkg:   `install -Dm755 target/release/$pkgname -t "$pkgdir"/usr/bin/`,
	},
	Perl: {
		depends: "perl", makedepends: "perl-dev", subpackages: "$pkgname-doc",
		build: `PERL_MM_USE_DEFAULT=1 perl -I. Makefile.PL INSTALLDIRS=vendor
make`,
		check: "make test",
		pkg: `make DESTDIR="$pkgdir" install
find "$pkgdir" \( -name perllocal.pod -o -name .packlist \) -delete`,
	},
	Make: {
		subpackages: "$pkgname-doc", dev: true,
		build: "make",
		check: "make check",
		pkg:   `make DESTDIR="$pkgdir" PREFIX=/usr install`,
	},
	NoBuildSystem: {
		build: "# " + Placeholder + ": the commands that build the software\n:",
		check: "# " + Placeholder + ": the commands that test the build\n:",
		pkg:   "# " + Placeholder + ": the commands that install into \"$pkgdir\"\n:",
	},
}

// GuessBuildSystem looks at the top of a source tree, as abuild's
// newapkbuild does, and returns its build system and the file that says
// so: an executable configure script, Makefile.PL, meson.build,
// CMakeLists.txt, go.mod, Cargo.toml, pyproject.toml or setup.py, a
// Makefile, in that order. A perl- or py3- pkgname (may be "") stands for
// Makefile.PL or setup.py. Without any of them it returns NoBuildSystem.
func GuessBuildSystem(fsys fs.FS, pkgname string) (BuildSystem, string) {
	has := func(name string) bool {
		_, err := fs.Stat(fsys, name)
		return err == nil
	}
	if fsys != nil {
		if fi, err := fs.Stat(fsys, "configure"); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return Autotools, "configure"
		}
	}
	checks := []struct {
		bs    BuildSystem
		files []string
	}{
		{Perl, []string{"Makefile.PL"}},
		{Meson, []string{"meson.build"}},
		{CMake, []string{"CMakeLists.txt"}},
		{Go, []string{"go.mod"}},
		{Rust, []string{"Cargo.toml"}},
		{Python, []string{"pyproject.toml", "setup.py"}},
		{Make, []string{"Makefile", "makefile", "GNUmakefile"}},
	}
	for _, c := range checks {
		for _, f := range c.files {
			if fsys != nil && has(f) {
				return c.bs, f
			}
		}
		switch {
		case c.bs == Perl && strings.HasPrefix(pkgname, "perl-"):
			return Perl, "pkgname " + pkgname
		case c.bs == Python && strings.HasPrefix(pkgname, "py3-"):
			return Python, "pkgname " + pkgname
		}
	}
	return NoBuildSystem, ""
}

// HasHeaders reports whether a source tree has C or C++ headers within
// three directories of its top.
func HasHeaders(fsys fs.FS) bool {
	found := false
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return fs.SkipAll
		}
		if d.IsDir() && strings.Count(p, "/") >= 3 {
			return fs.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".h") || strings.HasSuffix(p, ".hpp")) {
			found = true
		}
		return nil
	})
	return found
}

// licenseMarks recognise the common licence texts, most specific first.
var licenseMarks = []struct {
	spdx  string
	marks []string
}{
	{"Apache-2.0", []string{"Apache License", "Version 2.0"}},
	{"AGPL-3.0-or-later", []string{"GNU AFFERO GENERAL PUBLIC LICENSE", "Version 3"}},
	{"LGPL-3.0-or-later", []string{"GNU LESSER GENERAL PUBLIC LICENSE", "Version 3"}},
	{"LGPL-2.1-or-later", []string{"GNU LESSER GENERAL PUBLIC LICENSE", "Version 2.1"}},
	{"GPL-3.0-or-later", []string{"GNU GENERAL PUBLIC LICENSE", "Version 3"}},
	{"GPL-2.0-or-later", []string{"GNU GENERAL PUBLIC LICENSE", "Version 2"}},
	{"MPL-2.0", []string{"Mozilla Public License", "2.0"}},
	{"BSD-3-Clause", []string{"Redistribution and use in source and binary forms", "Neither the name"}},
	{"BSD-2-Clause", []string{"Redistribution and use in source and binary forms"}},
	{"ISC", []string{"Permission to use, copy, modify, and/or distribute this software for any"}},
	{"MIT", []string{"Permission is hereby granted, free of charge"}},
	{"Unlicense", []string{"This is free and unencumbered software released into the public domain"}},
	{"Zlib", []string{"This software is provided 'as-is', without any express or implied"}},
}

// GuessLicense reads the licence file at the top of a source tree
// (LICENSE, LICENCE, COPYING, with any suffix) and returns the SPDX
// identifier of the text it recognises and the file's name, or "" and "".
// A GPL family text says nothing of "only" or "or later": the guess is
// "-or-later", to be checked against the source's headers.
func GuessLicense(fsys fs.FS) (string, string) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", ""
	}
	for _, e := range ents {
		up := strings.ToUpper(e.Name())
		if e.IsDir() || !(strings.HasPrefix(up, "LICENSE") || strings.HasPrefix(up, "LICENCE") || strings.HasPrefix(up, "COPYING")) {
			continue
		}
		f, err := fsys.Open(e.Name())
		if err != nil {
			continue
		}
		text, _ := io.ReadAll(io.LimitReader(f, 64<<10))
		f.Close()
		flat := strings.Join(strings.Fields(string(text)), " ")
		for _, l := range licenseMarks {
			ok := true
			for _, m := range l.marks {
				ok = ok && strings.Contains(flat, m)
			}
			if ok {
				return l.spdx, e.Name()
			}
		}
	}
	return "", ""
}

var descriptionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^description\s*=\s*"([^"\\]*)"\s*$`) })

// GuessDescription returns the one-line description a Cargo.toml or
// pyproject.toml at the top of a source tree gives, or "".
func GuessDescription(fsys fs.FS) string {
	for _, name := range []string{"Cargo.toml", "pyproject.toml"} {
		f, err := fsys.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
		for sc.Scan() {
			if m := descriptionRE().FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil && m[1] != "" {
				f.Close()
				return strings.TrimSuffix(strings.TrimSpace(m[1]), ".")
			}
		}
		f.Close()
	}
	return ""
}

// NewSource is what a name or a source URL given to `apkit new` says.
type NewSource struct {
	Pkgname string // the package name (lower case)
	Pkgver  string // the version, "" when none could be read
	// URL is the download URL ("" for a plain name); Name is the file
	// name it is saved under.
	URL, Name string
	// Source is the source line for the recipe: URL with $pkgver for the
	// version, with "Name::" in front when the URL's own file name would
	// not do.
	Source string
	// Homepage is the project's page when the URL tells it (GitHub), else
	// the URL's scheme and host.
	Homepage string
}

var githubArchiveRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^/([^/]+)/([^/]+)/archive/(?:refs/tags/)?(.+)\.(tar\.gz|zip)$`)
})

// archiveExts are the file name endings stripped to find NAME-VERSION.
var archiveExts = []string{".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tar.lz", ".zip", ".tar"}

// ParseNewSource reads a NAME[-VERSION] or an http, https or ftp URL of a
// source archive the way abuild's newapkbuild does: NAME-VERSION from the
// file name, or for a GitHub archive the repository's name and the tag
// without its leading letters.
func ParseNewSource(arg string) (*NewSource, error) {
	u, err := url.Parse(arg)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ftp") || u.Host == "" {
		if strings.Contains(arg, "/") || strings.Contains(arg, ":") {
			return nil, fmt.Errorf("%q is neither NAME[-VERSION] nor an http, https or ftp URL", arg)
		}
		name, ver := splitNameVersion(arg)
		return &NewSource{Pkgname: strings.ToLower(name), Pkgver: ver}, nil
	}
	s := &NewSource{URL: arg, Homepage: u.Scheme + "://" + u.Host}
	if m := githubArchiveRE().FindStringSubmatch(u.Path); m != nil && u.Host == "github.com" {
		owner, repo, tag, ext := m[1], m[2], m[3], m[4]
		s.Pkgname = strings.ToLower(repo)
		s.Pkgver = strings.TrimLeftFunc(tag, func(r rune) bool { return r < '0' || r > '9' })
		s.Homepage = "https://github.com/" + owner + "/" + repo
		s.Name = s.Pkgname + "-" + s.Pkgver + "." + ext
		tagExpr := tag
		if s.Pkgver != "" {
			tagExpr = strings.Replace(tag, s.Pkgver, "$pkgver", 1)
		}
		s.Source = "$pkgname-$pkgver." + ext + "::https://github.com/" + owner + "/" + repo + "/archive/refs/tags/" + tagExpr + "." + ext
		s.URL = "https://github.com/" + owner + "/" + repo + "/archive/refs/tags/" + tag + "." + ext
		return s, nil
	}
	s.Name = path.Base(u.Path)
	if s.Name == "/" || s.Name == "." {
		return nil, fmt.Errorf("%s: no file name in the URL", arg)
	}
	stem := s.Name
	for _, ext := range archiveExts {
		if strings.HasSuffix(strings.ToLower(stem), ext) {
			stem = stem[:len(stem)-len(ext)]
			break
		}
	}
	name, ver := splitNameVersion(stem)
	s.Pkgname, s.Pkgver = strings.ToLower(name), ver
	s.Source = arg
	if ver != "" {
		// Only in the path: a host name may hold the same digits.
		v := *u
		v.Path = strings.ReplaceAll(u.Path, ver, "$pkgver")
		v.RawPath = ""
		s.Source = strings.Replace(v.String(), "%24pkgver", "$pkgver", -1)
	}
	return s, nil
}

// Rename makes pkgname the package's name. A download whose file name
// does not start with it is saved as $pkgname-$pkgver and its extension
// (the source line gets a "name::" prefix), so that sources of different
// packages do not collide in the cache.
func (s *NewSource) Rename(pkgname string) {
	s.Pkgname = pkgname
	if s.URL == "" || strings.HasPrefix(s.Name, pkgname) || strings.Contains(s.Source, "::") {
		return
	}
	ext := ""
	for _, e := range archiveExts {
		if strings.HasSuffix(strings.ToLower(s.Name), e) {
			ext = s.Name[len(s.Name)-len(e):]
			break
		}
	}
	s.Name = pkgname + "-" + s.Pkgver + ext
	s.Source = "$pkgname-$pkgver" + ext + "::" + s.Source
}

// splitNameVersion splits NAME-VERSION at the first '-' followed by a digit.
func splitNameVersion(s string) (string, string) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && s[i+1] >= '0' && s[i+1] <= '9' && i > 0 {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
