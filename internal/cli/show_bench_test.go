package cli_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/internal/cli"
	"github.com/apkit-dev/apkit/internal/term"
)

// benchRecipeTemplates are recipes in the shapes aports has most: plain
// assignments (read without the interpreter), a top level that calls a
// command, and one that loops.
var benchRecipeTemplates = []string{`# Contributor: Jane Doe <jane@example.org>
# Maintainer: Jane Doe <jane@example.org>
pkgname=NAME
pkgver=1.2.N
pkgrel=0
pkgdesc="Library and tools number N for the benchmark"
url="https://example.org/NAME"
arch="all !s390x"
license="MIT AND BSD-3-Clause"
depends_dev="zlib-dev openssl-dev>3"
makedepends="$depends_dev cmake samurai python3 py3-setuptools"
checkdepends="py3-pytest"
subpackages="$pkgname-static $pkgname-dev $pkgname-doc py3-$pkgname:_py3 $pkgname-openrc"
install="$pkgname.pre-install"
source="https://example.org/releases/$pkgname-$pkgver.tar.gz
	0001-fix-build.patch
	$pkgname.initd
	$pkgname.confd
	"
case "$CARCH" in
x86_64|aarch64) makedepends="$makedepends nasm" ;;
*) options="!check" ;;
esac

build() {
	cmake -B build -G Ninja \
		-DCMAKE_INSTALL_PREFIX=/usr \
		-DBUILD_SHARED_LIBS=ON
	cmake --build build
}

check() {
	ctest --test-dir build --output-on-failure
}

package() {
	DESTDIR="$pkgdir" cmake --install build
	install -Dm755 "$srcdir"/$pkgname.initd "$pkgdir"/etc/init.d/$pkgname
	install -Dm644 "$srcdir"/$pkgname.confd "$pkgdir"/etc/conf.d/$pkgname
}

_py3() {
	pkgdesc="$pkgdesc (python bindings)"
	amove usr/lib/python3*
}

sha512sums="
SUM  NAME-1.2.N.tar.gz
SUM  0001-fix-build.patch
SUM  NAME.initd
SUM  NAME.confd
"
`, `# Maintainer: Jane Doe <jane@example.org>
pkgname=NAME
pkgver=2.N.0
_pkgver=${pkgver%.*}
pkgrel=1
pkgdesc="Program number N for the benchmark"
url="https://example.org/NAME"
arch="noarch"
license="GPL-2.0-or-later"
_major=$(echo $pkgver | cut -d. -f1)
depends="NAME-data=$pkgver-r$pkgrel"
subpackages="$pkgname-doc $pkgname-lang"
source="https://example.org/NAME-$pkgver.tar.xz"
builddir="$srcdir/NAME-$_pkgver"

build() {
	./configure --prefix=/usr
	make
}

package() {
	make DESTDIR="$pkgdir" install
}

sha512sums="SUM  NAME-2.N.0.tar.xz"
`, `# Maintainer: Jane Doe <jane@example.org>
pkgname=NAME
pkgver=0.N
pkgrel=2
pkgdesc="Collection number N for the benchmark"
url="https://example.org/NAME"
arch="all"
license="Apache-2.0"
_plugins="alpha beta gamma delta epsilon zeta eta theta"
for _p in $_plugins; do
	subpackages="$subpackages $pkgname-$_p:_plugin"
done
source="https://example.org/NAME-$pkgver.tar.gz"

build() {
	go build ./...
}

package() {
	install -Dm755 NAME "$pkgdir"/usr/bin/NAME
}

_plugin() {
	pkgdesc="$pkgdesc (${subpkgname#$pkgname-} plugin)"
	amove usr/lib/NAME/${subpkgname#$pkgname-}
}

sha512sums="SUM  NAME-0.N.tar.gz"
`}

// writeBenchRecipes writes n recipes under dir and returns their
// directories.
func writeBenchRecipes(tb testing.TB, dir string, n int) []string {
	tb.Helper()
	sum := strings.Repeat("0123456789abcdef", 8)
	paths := make([]string, n)
	for i := range n {
		name := fmt.Sprintf("bench%d", i)
		src := strings.NewReplacer("NAME", name, "N", fmt.Sprint(i), "SUM", sum).Replace(benchRecipeTemplates[i%len(benchRecipeTemplates)])
		paths[i] = filepath.Join(dir, "main", name)
		if err := os.MkdirAll(paths[i], 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(paths[i], "APKBUILD"), []byte(src), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return paths
}

// processCPU returns the CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakHeap samples the bytes of live and not yet collected heap objects
// until stop is closed, and returns the largest sample.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkShowJSON runs apkit show --json over many generated recipes and
// reports the cost per recipe: time, bytes allocated and the peak heap.
// Speed varies with the machine's load; compare runs made together.
//
//	go test ./internal/cli -run '^$' -bench ShowJSON -benchtime 3x
func BenchmarkShowJSON(b *testing.B) {
	for _, n := range []int{300, 1200} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			paths := writeBenchRecipes(b, b.TempDir(), n)
			args := append([]string{"show", "--json", "--arch", "x86_64"}, paths...)
			streams := term.Test().Streams
			streams.Out, streams.ErrOut = io.Discard, io.Discard
			b.Setenv("APKIT_CONFIG", filepath.Join(b.TempDir(), "none.yaml"))
			var peak uint64
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			cpu0 := processCPU()
			b.ResetTimer()
			for b.Loop() {
				runtime.GC()
				stop := make(chan struct{})
				res := peakHeap(stop)
				if code := cli.Run(context.Background(), streams, args); code != 0 {
					b.Fatalf("exit %d", code)
				}
				close(stop)
				peak = max(peak, <-res)
			}
			b.StopTimer()
			cpu := processCPU() - cpu0
			runtime.ReadMemStats(&ms1)
			runs := float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/runs/float64(n), "ns/recipe")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/runs/float64(n), "B/recipe")
			b.ReportMetric(float64(cpu.Nanoseconds())/runs/float64(n), "cpu-ns/recipe")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}
