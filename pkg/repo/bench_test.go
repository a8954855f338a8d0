package repo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/index"
)

// bigRepo makes a repository directory whose index holds the 5,004 records
// of the real Alpine v3.17 aarch64 index (the package files themselves are
// not needed to add another package).
func bigRepo(b *testing.B) string {
	b.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "testdata/alpine/alpine-317/APKINDEX.tar.gz"))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		if os.Getenv("CI") != "" {
			b.Fatal(err)
		}
		b.Skip("shared Alpine fixtures are absent")
	}
	ix, err := index.Read(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "x86_64")
	os.MkdirAll(dir, 0o755)
	for _, r := range ix.Records {
		r.Arch = "x86_64"
	}
	if err := WriteFile(filepath.Join(dir, IndexName), 0o644, func(w io.Writer) error { return index.Write(w, ix) }); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkAddOneTo5000 adds one package to a 5,004-entry repository, with
// a fresh Repo each time (cold: the index is read from disk) or one Repo
// for all (warm: the index it wrote last is reused).
func BenchmarkAddOneTo5000(b *testing.B) {
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			dir := bigRepo(b)
			src := b.TempDir()
			ctx := context.Background()
			r := openFake(b, dir, Options{})
			i := 0
			for b.Loop() {
				b.StopTimer()
				p := writeFake(b, src, fmt.Sprintf("bench-%d", i), "1-r0")
				i++
				if mode == "cold" {
					r = openFake(b, dir, Options{})
				}
				b.StartTimer()
				if _, err := r.Add(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
