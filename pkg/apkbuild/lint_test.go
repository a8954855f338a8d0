package apkbuild

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lintHeader is a recipe start that passes every rule.
const lintHeader = `# Maintainer: Jane Doe <jane@example.org>
pkgname=foo
pkgver=1.0
pkgrel=0
pkgdesc="Foo"
url="https://example.org"
arch="noarch"
license="MIT"
`

const lintPackage = `
package() {
	mkdir -p "$pkgdir"
}
`

func TestLintRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   string
		files map[string]string
		want  []string // "severity rule"
	}{
		{"clean", lintHeader + lintPackage, nil, nil},
		{"no package", lintHeader, nil, []string{"error missing-package-function"}},
		{"long pkgdesc", strings.Replace(lintHeader, `"Foo"`, `"`+strings.Repeat("x", 128)+`"`, 1) + lintPackage, nil, []string{"error pkgdesc-too-long"}},
		{"priority", lintHeader + "provider_priority=high\n" + lintPackage, nil, []string{"error priority-not-number"}},
		{"duplicate subpackage", lintHeader + "subpackages=\"$pkgname-doc $pkgname-doc\"\n" + lintPackage, nil, []string{"error duplicate-package-name"}},
		{"missing split function", lintHeader + "subpackages=\"$pkgname-extra\"\n" + lintPackage, nil, []string{"error missing-split-function"}},
		{"custom split function", lintHeader + "subpackages=\"$pkgname-extra\"\nextra() { :; }\n" + lintPackage, nil, nil},
		// apk reads these operators; abuild's validate refuses them in
		// depends and makedepends, and packaging in provides
		{"depends operator", lintHeader + "depends=\"a~=1 b=>2 c>=3\"\nmakedepends=\"d=~5.2\"\nprovides=\"e=<1\"\n" + lintPackage, nil, []string{"error dependency-operator", "error dependency-operator", "error dependency-operator", "error dependency-operator"}},
		{"checkdepends operator", lintHeader + "checkdepends=\"a~=1\"\nmakedepends_build=\"b=>2\"\n" + lintPackage, nil, nil},
		{"provides self", lintHeader + "provides=\"foo=1.0-r0\"\n" + lintPackage, nil, []string{"error provides-pkgname"}},
		{"misspelled", lintHeader + "makedepend=\"x\"\n" + lintPackage, nil, []string{"error misspelled-variable", "warning custom-variable"}},
		{"conflicts", lintHeader + "conflicts=\"x\"\n" + lintPackage, nil, []string{"error conflicts-variable", "warning custom-variable"}},
		{"two maintainers", lintHeader + "# Maintainer: John Roe <john@example.org>\n" + lintPackage, nil, []string{"error multiple-maintainers"}},
		{"no maintainer", strings.Replace(lintHeader, "# Maintainer: Jane Doe <jane@example.org>\n", "", 1) + lintPackage, nil, []string{"warning no-maintainer"}},
		{"secfixes", lintHeader + "\n# secfixes:\n#   1.0-r0:\n#     - CVE-2026-1234\n#     - GHSA-abcd-efgh-ijkl\n#\n#   0.9:\n#\t- CVE-1\n" + lintPackage, nil, []string{"error secfixes-format"}},
		{"install", lintHeader + "install=\"$pkgname.post-install $pkgname.bad-action\"\n" + lintPackage, map[string]string{"foo.post-install": "#!/bin/sh\n", "foo.bad-action": ""}, []string{"error invalid-install"}},
		{"trigger", lintHeader + "triggers=\"$pkgname.trigger=/usr/share/foo other.trigger=/x\"\n" + lintPackage, map[string]string{"foo.trigger": "#!/bin/sh\n"}, []string{"error invalid-trigger", "error missing-trigger-file"}},
		{"sources", lintHeader + "source=\"https://x.org/1.0.tar.gz a.initd a.initd b%d.patch\"\nsha512sums=\"1  1.0.tar.gz\n2  a.initd\n3  a.initd\n5  x\"\n" + lintPackage,
			map[string]string{"a.initd": "#!/bin/sh\n", "b%d.patch": ""},
			[]string{"error checksum-not-source", "error duplicate-source", "error initd-shebang", "error initd-shebang", "error invalid-checksum", "error invalid-checksum", "error invalid-checksum", "error invalid-checksum", "error invalid-source-name", "error missing-checksum", "error source-needs-rename"}},
		{"sha256", lintHeader + "source=\"a\"\nsha256sums=\"" + strings.Repeat("ab", 32) + "  a\"\n" + lintPackage, map[string]string{"a": ""}, []string{"warning old-checksum"}},
		{"bad digest", lintHeader + "source=\"a\"\nsha512sums=\"abc  a\"\n" + lintPackage, map[string]string{"a": ""}, []string{"error invalid-checksum"}},
		{"unexpected file", lintHeader + lintPackage, map[string]string{"stray.patch": ""}, []string{"warning unexpected-file"}},
		{"build leftovers", lintHeader + lintPackage, map[string]string{"build.log": ""}, nil},
		{"toolchain", lintHeader + "makedepends=\"g++ go\"\n" + lintPackage, nil, []string{"warning go-without-net", "warning gxx-without-toolchain"}},
		{"depends_dev", lintHeader + "depends_dev=\"x\"\n" + lintPackage, nil, []string{"warning depends-dev-without-dev"}},
		{"style", strings.Replace(lintHeader, "pkgname=foo", "pkgname=\"foo\"", 1) + "builddir=\"$srcdir/$pkgname-$pkgver\"\nsource=\"\"\n_x=`echo x` \nfunction foo() { :; }\nbar (){\n\ttrue || return 1\n}\nbaz()\n{\n  :\n}\nqux(){ :; }\n" + lintPackage, nil,
			[]string{"warning backticks-usage", "warning default-builddir-value", "warning empty-variable", "warning function-keyword", "warning indent-tabs", "warning newline-opening-brace", "warning pkgname-quoted", "warning space-after-function-parenthesis", "warning space-before-function-parenthesis", "warning trailing-whitespace", "warning unnecessary-return-1"}},
		{"superfluous cd", lintHeader + "build() {\n\tcd \"$builddir\"\n\tmake\n}\ncheck() {\n\tcd \"$builddir\"\n\tmake check\n\tcd tests\n}\n" + lintPackage, nil, []string{"warning superfluous-cd-builddir"}},
		{"options", lintHeader + "options=\"!check net foo-doc::!strip bogus foo::bogus2 custom:thing\"\n" + lintPackage, nil, []string{"warning unknown-option", "warning unknown-option"}},
		{"pkgver release", strings.Replace(lintHeader, "pkgver=1.0", "pkgver=1.0_r1", 1) + lintPackage, nil, []string{"error validate", "warning pkgver-has-pkgrel"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "main", "foo")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{"APKBUILD": tc.src}
			for k, v := range tc.files {
				files[k] = v
			}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Load(dir, Options{Arch: "x86_64"})
			if r == nil {
				t.Fatal(err)
			}
			var fs []Finding
			if err != nil {
				fs = ErrorFindings("APKBUILD", err)
			}
			fs = append(fs, Lint(r)...)
			var got []string
			for _, f := range fs {
				got = append(got, string(f.Severity)+" "+f.Rule)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s\n%v", diff, fs)
			}
			if HasErrors(fs) != slices.ContainsFunc(tc.want, func(s string) bool { return strings.HasPrefix(s, "error") }) {
				t.Errorf("HasErrors = %v", HasErrors(fs))
			}
		})
	}
}

func TestFindingString(t *testing.T) {
	t.Parallel()
	f := Finding{File: "main/foo/APKBUILD", Line: 12, Col: 3, Rule: "indent-tabs", Severity: SeverityWarning, Message: "indent with tabs"}
	if got, want := f.String(), "main/foo/APKBUILD:12:3: indent-tabs: indent with tabs"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
