package build

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/sandbox"
)

const noopRecipe = `pkgname=noop
pkgver=1.0
pkgrel=0
pkgdesc="recipe whose phases do nothing"
url="https://example.org"
arch="noarch"
license="MIT"
source=""

prepare() { :; }
build() { :; }
check() { :; }
package() { mkdir -p "$pkgdir"; }
`

// BenchmarkNoopRecipe measures apkit's own cost for a recipe whose phases
// do nothing: reading the recipe, five sandboxed phase runs, the package
// checks, tracing and writing.
func BenchmarkNoopRecipe(b *testing.B) {
	runners := map[string]sandbox.Runner{"none": sandbox.Plain{}}
	if bw := (&sandbox.Bwrap{}); bw.Probe(context.Background()) == nil {
		runners["bwrap"] = bw
	}
	for name, r := range runners {
		b.Run(name, func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "main", "noop")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "APKBUILD"), []byte(noopRecipe), 0o644); err != nil {
				b.Fatal(err)
			}
			opts := benchOptions(b, dir)
			opts.Runner = r
			b.ResetTimer()
			for range b.N {
				if _, err := Build(context.Background(), dir, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPackageThroughput builds a recipe whose package() copies 64 MiB
// of mixed data (half compressible text, half random bytes, in 256 files)
// into $pkgdir: the cost is the copy, the checks and tracing, writing
// the signed .apk and adding it to the repository.
func BenchmarkPackageThroughput(b *testing.B) {
	const files, size = 256, 256 << 10
	dir := filepath.Join(b.TempDir(), "main", "bulk")
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		b.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, size)
	for i := range files {
		if i%2 == 0 {
			for j := range buf {
				buf[j] = byte(rnd.Uint32())
			}
		} else {
			for j := range buf {
				buf[j] = "abcdefghij klmnop\n"[rnd.IntN(18)]
			}
		}
		if err := os.WriteFile(filepath.Join(data, fmt.Sprintf("f%03d", i)), buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	recipe := strings.Replace(noopRecipe, "pkgname=noop", "pkgname=bulk", 1)
	recipe = strings.Replace(recipe, `package() { mkdir -p "$pkgdir"; }`, `package() { mkdir -p "$pkgdir"/usr/share/bulk && cp -r "$startdir"/data/. "$pkgdir"/usr/share/bulk/; }`, 1)
	if err := os.WriteFile(filepath.Join(dir, "APKBUILD"), []byte(recipe), 0o644); err != nil {
		b.Fatal(err)
	}
	opts := benchOptions(b, dir)
	opts.Runner = sandbox.Plain{}
	if bw := (&sandbox.Bwrap{}); bw.Probe(context.Background()) == nil {
		opts.Runner = bw
	}
	b.SetBytes(files * size)
	b.ResetTimer()
	for i := range b.N {
		// A new release each time, so every build writes a new package.
		opts.Env = map[string]string{}
		if err := os.WriteFile(filepath.Join(dir, "APKBUILD"), []byte(strings.Replace(recipe, "pkgrel=0", fmt.Sprintf("pkgrel=%d", i), 1)), 0o644); err != nil {
			b.Fatal(err)
		}
		if _, err := Build(context.Background(), dir, opts); err != nil {
			b.Fatal(err)
		}
	}
}
