package sign

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
	"time"
)

// TestSignatureEndBlocks checks the zero blocks a signature member may hold
// after its entries: apk reads the members as one tar, so a member that
// keeps both end-of-archive blocks ends it before the signed content.
func TestSignatureEndBlocks(t *testing.T) {
	t.Parallel()
	key := newTestKey(t)
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "APKINDEX", Mode: 0o644, Size: 8})
	tw.Write([]byte("P:a\nV:1\n"))
	tw.Close()
	zw.Close()
	sig, err := key.SignBytes(RSA256, body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// member writes a signature member with tail after its entry.
	member := func(tail int) []byte {
		var raw, out bytes.Buffer
		tw := tar.NewWriter(&raw)
		tw.WriteHeader(&tar.Header{Name: sig.EntryName(), Mode: 0o644, Size: int64(len(sig.Value)), ModTime: time.Unix(0, 0)})
		tw.Write(sig.Value)
		tw.Flush()
		raw.Write(make([]byte, tail))
		zw := gzip.NewWriter(&out)
		zw.Write(raw.Bytes())
		zw.Close()
		return out.Bytes()
	}
	kr := &Keyring{}
	kr.Add(key.Name, &key.Key.PublicKey)
	tests := []struct {
		name    string
		members [][]byte
		zeros   int
		ok      bool
		is      error
	}{
		{"cut", [][]byte{member(0)}, 0, true, nil},
		{"one zero block", [][]byte{member(512)}, 1, true, nil},
		{"end-of-archive blocks", [][]byte{member(1024)}, 0, false, ErrEndOfArchive},
		{"a partial block", [][]byte{member(100)}, 0, false, nil},
		{"one zero block in each of two members", [][]byte{member(512), member(512)}, 0, false, ErrEndOfArchive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stream := append(bytes.Join(tt.members, nil), body.Bytes()...)
			sr, err := NewSignedReader(bytes.NewReader(stream))
			if !tt.ok {
				if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %v, want one of a malformed stream", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sr.ZeroBlocks() != tt.zeros {
				t.Errorf("ZeroBlocks = %d, want %d", sr.ZeroBlocks(), tt.zeros)
			}
			if _, err := VerifyStream(bytes.NewReader(stream), kr, nil); err != nil {
				t.Errorf("VerifyStream: %v", err)
			}
		})
	}
}
