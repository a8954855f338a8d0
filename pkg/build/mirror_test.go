package build

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/sandbox"
)

// The fetch phase tries the distfiles mirror first; a local-directory
// mirror serves even offline.
func TestFetchUsesDistfilesMirror(t *testing.T) {
	content := []byte("mirrored tarball\n")
	sum := sha512.Sum512(content)
	base := t.TempDir()
	dir := filepath.Join(base, "aports", "main", "mirr")
	mirror := filepath.Join(base, "mirror")
	for _, d := range []string{dir, mirror} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	recipe := `pkgname=mirr
pkgver=1.0
pkgrel=0
pkgdesc="mirror test"
url="https://example.invalid/"
arch="noarch"
license="MIT"
source="$pkgname-$pkgver.tar.gz::https://example.invalid/v$pkgver.tar.gz"

package() {
	mkdir -p "$pkgdir"
}

sha512sums="
` + hex.EncodeToString(sum[:]) + `  mirr-1.0.tar.gz
"
`
	if err := os.WriteFile(filepath.Join(dir, "APKBUILD"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mirror, "mirr-1.0.tar.gz"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	srcdest := filepath.Join(base, "distfiles")
	var out bytes.Buffer
	_, err := Build(context.Background(), dir, Options{
		Runner:          sandbox.Plain{},
		Arch:            "x86_64",
		Srcdest:         srcdest,
		DistfilesMirror: mirror,
		Offline:         true,
		Phases:          []Phase{PhaseFetch},
		Output:          &out,
		Repodest:        filepath.Join(base, "packages"),
		SourceDateEpoch: 1700000000,
	})
	if err != nil {
		t.Fatalf("fetch phase: %v\n%s", err, out.String())
	}
	got, err := os.ReadFile(filepath.Join(srcdest, "mirr-1.0.tar.gz"))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("cached source = %q, %v", got, err)
	}
}
