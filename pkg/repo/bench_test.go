package repo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// bigRepo makes an x86_64 repository directory whose index holds the 5,004
// records of the real Alpine v3.17 index (rewritten to x86_64; the package
// files themselves are not needed to add another package).
func bigRepo(b *testing.B) string {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(alpinetest.Shared(b), "testdata/alpine/alpine-317/APKINDEX.tar.gz"))
	if err != nil {
		b.Fatal(err)
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
	err = repo.WriteFile(filepath.Join(dir, repo.IndexName), 0o644, func(w io.Writer) error { return index.Write(w, ix) })
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkAddOneTo5000 adds one real package (verified against Alpine's
// key) to a 5,004-entry repository and signs the new index with a 4096-bit
// key: "cold" opens the repository afresh each time, so the index is read
// from disk; "warm" keeps one Repo, which reuses the index it wrote last.
// Between iterations the package is removed again, untimed.
func BenchmarkAddOneTo5000(b *testing.B) {
	alpine := filepath.Join(alpinetest.Shared(b), "testdata/alpine")
	alpineKeys, err := sign.LoadKeyring(filepath.Join(alpine, "keys"))
	if err != nil {
		b.Fatal(err)
	}
	k, err := sign.GenerateKey(rand.Reader, "bench@example.com", 4096, time.Unix(0x6748a2b1, 0))
	if err != nil {
		b.Fatal(err)
	}
	pkg := filepath.Join(alpine, "test_alpine.apk")
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			dir := bigRepo(b)
			ctx := context.Background()
			opts := repo.Options{Key: k, Keys: alpineKeys}
			r, err := repo.Open(dir, opts)
			if err != nil {
				b.Fatal(err)
			}
			var cpu time.Duration
			for b.Loop() {
				if mode == "cold" {
					b.StopTimer()
					if r, err = repo.Open(dir, opts); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				c0 := processCPU()
				added, err := r.Add(ctx, pkg)
				cpu += processCPU() - c0
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if added[0].Unchanged {
					b.Fatal("package was already there")
				}
				if _, err := r.Remove(ctx, "apache2-ctl"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}
