package sign

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
)

// signedStream returns a signature member holding the given entries
// (names and sizes, contents zero) followed by a small signed member.
func signedStream(t *testing.T, names []string, size int) []byte {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(size), Format: tar.FormatPAX}); err != nil {
			t.Fatal(err)
		}
		tw.Write(make([]byte, size))
	}
	tw.Flush()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(raw.Bytes())
	zw.Close()
	zw = gzip.NewWriter(&out)
	tw = tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: ".PKGINFO", Mode: 0o644, Format: tar.FormatPAX})
	tw.Flush()
	zw.Close()
	return out.Bytes()
}

// TestSignedReaderBounds: a signature member can hold only a few
// signatures with key names of a file name's length; many signatures of
// 64 KiB zeros (a few kilobytes compressed) or megabyte-long key names
// would otherwise all be kept.
func TestSignedReaderBounds(t *testing.T) {
	many := make([]string, 2000)
	for i := range many {
		many[i] = fmt.Sprintf(".SIGN.RSA256.key-%d.rsa.pub", i)
	}
	tests := []struct {
		name  string
		names []string
		size  int
		ok    bool
	}{
		{"two signatures", []string{".SIGN.RSA.a.rsa.pub", ".SIGN.RSA256.a.rsa.pub"}, 512, true},
		{"many signatures", many, 64 << 10, false},
		{"long key name", []string{".SIGN.RSA256." + strings.Repeat("k", 1<<19) + ".rsa.pub"}, 512, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSignedReader(bytes.NewReader(signedStream(t, tc.names, tc.size)))
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
