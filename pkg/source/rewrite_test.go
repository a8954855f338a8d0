package source

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The worked example of the APKBUILD spec, with real-looking digests.
const workedExample = `# Contributor: Jane Doe <jane@example.com>
# Maintainer: Jane Doe <jane@example.com>
pkgname=hello
pkgver=2.12.1
pkgrel=0
pkgdesc="Friendly greeting program"
url="https://www.gnu.org/software/hello/"
arch="all"
license="GPL-3.0-or-later"
makedepends="texinfo"
subpackages="$pkgname-doc $pkgname-lang"
install="$pkgname.post-install"
source="https://ftp.gnu.org/gnu/hello/hello-$pkgver.tar.gz
	fix-build.patch
	"

build() {
	./configure --prefix=/usr
	make
}

check() {
	make check
}

package() {
	make DESTDIR="$pkgdir" install
}

sha512sums="
OLD1  hello-2.12.1.tar.gz
OLD2  fix-build.patch
"
`

func hex128(c byte) string { return strings.Repeat(string(c), 128) }

func TestRewriteChecksums(t *testing.T) {
	t.Parallel()
	a, b, c := hex128('a'), hex128('b'), hex128('c')
	old1, old2 := hex128('1'), hex128('2')
	example := strings.NewReplacer("OLD1", old1, "OLD2", old2).Replace(workedExample)
	renamed := `pkgname=foo
pkgver=1.0
pkgrel=3
source="foo-$pkgver.tar.gz::https://github.com/x/foo/archive/v$pkgver.tar.gz
	0001-fix.patch
	foo.initd
	"
sha256sums="` + strings.Repeat("9", 64) + `  foo-1.0.tar.gz"
md5sums="0123  foo-1.0.tar.gz"

# a comment between the blocks stays
sha512sums='
` + old1 + `  foo-1.0.tar.gz
` + old2 + `  0001-fix.patch
'
`
	tests := []struct {
		name string
		in   string
		sums []FileSum
		want string
	}{
		{
			name: "worked example",
			in:   example,
			sums: []FileSum{{a, "hello-2.12.1.tar.gz"}, {b, "fix-build.patch"}},
			want: strings.NewReplacer(old1, a, old2, b).Replace(example),
		},
		{
			name: "unchanged sums give the same bytes",
			in:   example,
			sums: []FileSum{{old1, "hello-2.12.1.tar.gz"}, {old2, "fix-build.patch"}},
			want: example,
		},
		{
			name: "renamed sources, local patches, old sha256 block",
			in:   renamed,
			sums: []FileSum{{a, "foo-1.0.tar.gz"}, {b, "0001-fix.patch"}, {c, "foo.initd"}},
			want: `pkgname=foo
pkgver=1.0
pkgrel=3
source="foo-$pkgver.tar.gz::https://github.com/x/foo/archive/v$pkgver.tar.gz
	0001-fix.patch
	foo.initd
	"
sha512sums="
` + a + `  foo-1.0.tar.gz
` + b + `  0001-fix.patch
` + c + `  foo.initd
"
md5sums="0123  foo-1.0.tar.gz"

# a comment between the blocks stays
`,
		},
		{
			name: "no block yet: appended",
			in:   "pkgname=x\nsource=\"x.patch\"\n\npackage() {\n\t:\n}",
			sums: []FileSum{{a, "x.patch"}},
			want: "pkgname=x\nsource=\"x.patch\"\n\npackage() {\n\t:\n}\nsha512sums=\"\n" + a + "  x.patch\n\"\n",
		},
		{
			name: "no sources: block removed",
			in:   "pkgname=x\nsource=\"\"\n\nsha512sums=\"\n\"\n",
			want: "pkgname=x\nsource=\"\"\n\n",
		},
		{
			name: "indented sums are not assignments at column 1",
			in:   "f() {\n\tsha512sums=\"x\"\n}\nsha512sums=\"" + old1 + "  x.patch\"\n",
			sums: []FileSum{{a, "x.patch"}},
			want: "f() {\n\tsha512sums=\"x\"\n}\nsha512sums=\"\n" + a + "  x.patch\n\"\n",
		},
		{
			name: "closing quote after the last name",
			in:   "pkgname=x\nsha512sums=\"" + old1 + "  a.patch\n" + old2 + "  b.patch\"\n# tail\n",
			sums: []FileSum{{a, "a.patch"}, {b, "b.patch"}},
			want: "pkgname=x\nsha512sums=\"\n" + a + "  a.patch\n" + b + "  b.patch\n\"\n# tail\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := RewriteChecksums([]byte(tt.in), tt.sums)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRewriteChecksumsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		sums     []FileSum
		wantErr  string
	}{
		{"unterminated", "pkgname=x\nsha512sums=\"\nabc  x\n", nil, `APKBUILD:2: sha512sums has no closing "`},
		{"short digest", "", []FileSum{{"abc", "x"}}, "checksum of x: not a lowercase sha512 hex digest"},
		{"bad name", "", []FileSum{{hex128('a'), "../x"}}, `checksum of "../x": invalid saved name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := RewriteChecksums([]byte(tt.in), tt.sums)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSetVariable(t *testing.T) {
	t.Parallel()
	src := "pkgname=foo\npkgver=1.2.3 # upstream\npkgrel=4\n_pkgver=9\npkgdesc=\"Foo bar\"\nurl='https://x'\n"
	tests := []struct {
		name, variable, value, want, wantErr string
	}{
		{"unquoted", "pkgver", "1.3.0", "pkgname=foo\npkgver=1.3.0 # upstream\npkgrel=4\n_pkgver=9\npkgdesc=\"Foo bar\"\nurl='https://x'\n", ""},
		{"pkgrel", "pkgrel", "0", "pkgname=foo\npkgver=1.2.3 # upstream\npkgrel=0\n_pkgver=9\npkgdesc=\"Foo bar\"\nurl='https://x'\n", ""},
		{"double quoted", "pkgdesc", "Foo baz", "pkgname=foo\npkgver=1.2.3 # upstream\npkgrel=4\n_pkgver=9\npkgdesc=\"Foo baz\"\nurl='https://x'\n", ""},
		{"single quoted", "url", "https://y", "pkgname=foo\npkgver=1.2.3 # upstream\npkgrel=4\n_pkgver=9\npkgdesc=\"Foo bar\"\nurl='https://y'\n", ""},
		{"unquoted gets quotes when needed", "pkgname", "a b", "pkgname=\"a b\"\npkgver=1.2.3 # upstream\npkgrel=4\n_pkgver=9\npkgdesc=\"Foo bar\"\nurl='https://x'\n", ""},
		{"missing", "license", "MIT", "", "set license: no assignment license= at the start of a line"},
		{"unsafe value", "pkgver", "$(rm -rf /)", "", "needs shell quoting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := SetVariable([]byte(src), tt.variable, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithChecksums(t *testing.T) {
	t.Parallel()
	items := []Item{{Name: "a.tar.gz", URL: "https://x/a.tar.gz"}, {Name: "b.patch", Local: "b.patch"}}
	a, b := hex128('a'), hex128('b')
	got, err := WithChecksums(items, SHA512, []FileSum{{b, "b.patch"}, {a, "a.tar.gz"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{Name: "a.tar.gz", URL: "https://x/a.tar.gz", Sum: Checksum{SHA512, a}},
		{Name: "b.patch", Local: "b.patch", Sum: Checksum{SHA512, b}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = WithChecksums(items, SHA512, []FileSum{{a, "a.tar.gz"}, {b, "c.patch"}})
	wantErr := "source b.patch has no line in sha512sums\nsha512sums lists c.patch, which is not a source"
	if err == nil || err.Error() != wantErr {
		t.Errorf("err = %v, want %q", err, wantErr)
	}
}
