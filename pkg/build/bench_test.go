package build

import (
	"context"
	"os"
	"path/filepath"
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
