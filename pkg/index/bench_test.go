package index_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

func loadReal(b *testing.B) ([]byte, *index.Index) {
	raw, err := os.ReadFile(filepath.Join(alpinetest.Shared(b), "testdata/alpine/alpine-317/APKINDEX.tar.gz"))
	if err != nil {
		b.Fatal(err)
	}
	ix, err := index.Read(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	return raw, ix
}

// BenchmarkRead reads the real 5,004-record Alpine index.
func BenchmarkRead(b *testing.B) {
	raw, _ := loadReal(b)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := index.Read(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseText parses its 1.9 MB of APKINDEX text.
func BenchmarkParseText(b *testing.B) {
	_, ix := loadReal(b)
	text, _ := index.AppendText(nil, ix.Records)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := index.ParseText(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrite writes it back as an unsigned APKINDEX.tar.gz.
func BenchmarkWrite(b *testing.B) {
	_, ix := loadReal(b)
	for b.Loop() {
		if err := index.Write(io.Discard, ix); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadVerified reads the real index and checks its signature
// against Alpine's keys, as apkit add does.
func BenchmarkReadVerified(b *testing.B) {
	raw, _ := loadReal(b)
	kr, err := sign.LoadKeyring(filepath.Join(alpinetest.Shared(b), "testdata/alpine/keys"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := index.ReadVerified(bytes.NewReader(raw), kr); err != nil {
			b.Fatal(err)
		}
	}
}
