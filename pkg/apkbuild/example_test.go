package apkbuild_test

import (
	"fmt"
	"strings"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
)

func ExampleParse() {
	const recipe = `pkgname=hello
pkgver=2.12.1
pkgrel=0
pkgdesc="Friendly greeting program"
url="https://www.gnu.org/software/hello/"
arch="all !s390x"
license="GPL-3.0-or-later"
case "$CARCH" in
aarch64) options="!check" ;;
esac
subpackages="$pkgname-doc $pkgname-lang"
source="https://ftp.gnu.org/gnu/hello/hello-$pkgver.tar.gz"

package() {
	make DESTDIR="$pkgdir" install
}
`
	r, err := apkbuild.Parse(strings.NewReader(recipe), "/aports/main/hello/APKBUILD", apkbuild.Options{Arch: "aarch64"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Pkgname, r.Version(), r.BuildsFor("aarch64"), r.BuildsFor("s390x"))
	fmt.Println(r.Options, r.HasOption("!check"))
	for _, s := range r.Subpackages {
		fmt.Println(s.Name, s.Func, s.Arch)
	}
	fmt.Println(r.Sources[0].Name, r.Sources[0].URL)
	fmt.Println(r.Vars["builddir"])
	fmt.Println(r.Functions["package"].Line)
	// Output:
	// hello 2.12.1-r0 true false
	// [!check] true
	// hello-doc doc noarch
	// hello-lang lang noarch
	// hello-2.12.1.tar.gz https://ftp.gnu.org/gnu/hello/hello-2.12.1.tar.gz
	// /aports/main/hello/src/hello-2.12.1
	// 14
}

func ExampleParse_error() {
	_, err := apkbuild.Parse(strings.NewReader("pkgname=x\npkgver=1.0\n_v=$(git describe)\n"), "APKBUILD", apkbuild.Options{})
	fmt.Println(err)
	// Output: APKBUILD:3:6: running "git" is not supported: evaluation runs no host programs
}
