package source

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzUnpackTar feeds arbitrary tar streams to the extractor: it must not
// panic, and nothing may appear beside the destination.
func FuzzUnpackTar(f *testing.F) {
	f.Add(makeTar(f, goodTree))
	f.Add(makeTar(f, []entry{{name: "../x", body: "x"}}))
	f.Add(makeTar(f, []entry{{name: "l", typ: '2', link: "/"}, {name: "l/x", body: "x"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		top := t.TempDir()
		dest := filepath.Join(top, "dest")
		_ = UnpackTar(context.Background(), bytes.NewReader(data), FormatTar, dest, UnpackOptions{MaxBytes: 1 << 20, MaxEntries: 1000})
		ents, err := os.ReadDir(top)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != "dest" {
			t.Fatalf("unpacking wrote outside the destination: %v", ents)
		}
		filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755) // let TempDir clean up
			}
			return nil
		})
	})
}

// FuzzRewriteChecksums checks that rewriting never panics and that a
// rewritten file rewrites to itself.
func FuzzRewriteChecksums(f *testing.F) {
	f.Add([]byte(workedExample))
	f.Add([]byte("sha512sums=\"\nabc  x\n"))
	f.Add([]byte("sha256sums='a  b'\nsha512sums=\"\"\n"))
	sums := []FileSum{{hex128('a'), "x.tar.gz"}}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := RewriteChecksums(src, sums)
		if err != nil {
			return
		}
		again, err := RewriteChecksums(out, sums)
		if err != nil {
			t.Fatalf("rewriting the output failed: %v\n%q", err, out)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("not idempotent:\n%q\n%q", out, again)
		}
	})
}
