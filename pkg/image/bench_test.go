package image_test

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/image"
)

// benchRoot writes a root with about 50 packages' worth of files: per
// package a binary, a shared library, text files and a directory of small
// data files, about 40 MB in all, half of it compressible text.
func benchRoot(b *testing.B) (string, int64) {
	b.Helper()
	root := b.TempDir()
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	var total int64
	write := func(name string, size int, text bool) {
		data := make([]byte, size)
		if text {
			words := []string{"alpine", "package", "config", "value", "the", "of", "=", "\n", "# comment ", "path/to/file "}
			var sb strings.Builder
			for sb.Len() < size {
				sb.WriteString(words[rng.IntN(len(words))])
				sb.WriteByte(' ')
			}
			copy(data, sb.String())
		} else {
			for i := 0; i < size; i += 8 {
				v := rng.Uint64() & 0x0f0f0f0f0f0f0f0f // half-entropy, as machine code is
				for j := 0; j < 8 && i+j < size; j++ {
					data[i+j] = byte(v >> (8 * j))
				}
			}
		}
		full := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(size)
	}
	for p := range 50 {
		name := fmt.Sprintf("pkg%02d", p)
		write("usr/bin/"+name, 200<<10+rng.IntN(200<<10), false)
		write("usr/lib/lib"+name+".so.1", 150<<10+rng.IntN(150<<10), false)
		for i := range 10 {
			write(fmt.Sprintf("usr/share/doc/%s/file%d.txt", name, i), 10<<10+rng.IntN(20<<10), true)
		}
		for i := range 30 {
			write(fmt.Sprintf("usr/share/%s/data/%d.conf", name, i), 500+rng.IntN(4<<10), true)
		}
	}
	return root, total
}

// BenchmarkImage builds the image of a 50-package root; the baseline
// writes the same tree as a plain tar.gz with the standard library.
func BenchmarkImage(b *testing.B) {
	root, total := benchRoot(b)
	b.Run("build", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			im, err := image.Build(root, &image.Options{Created: epoch})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := im.Digest(); err != nil {
				b.Fatal(err)
			}
			im.Close()
		}
	})
	b.Run("baseline-tar-gzip", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			zw := gzip.NewWriter(io.Discard)
			tw := tar.NewWriter(zw)
			err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err != nil || p == root {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				hdr, err := tar.FileInfoHeader(fi, "")
				if err != nil {
					return err
				}
				hdr.Name, _ = filepath.Rel(root, p)
				if err := tw.WriteHeader(hdr); err != nil {
					return err
				}
				if !fi.Mode().IsRegular() {
					return nil
				}
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(tw, f)
				return err
			})
			if err == nil {
				err = tw.Close()
			}
			if err == nil {
				err = zw.Close()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
