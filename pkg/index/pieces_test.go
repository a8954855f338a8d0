package index_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// piecesText returns APKINDEX text of n records, several hundred KiB long,
// with one record far longer than the pieces the reader parses at a time.
func piecesText(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "C:Q1%027d=\nP:pkg%d\nV:1.%d-r0\nA:x86_64\nS:1\nI:2\nT:package number %d\nU:https://example.com\nL:MIT\nD:so:libc.musl-x86_64.so.1 pkg%d>=1\np:cmd:pkg%d=1.%d-r0\n",
			i, i, i, i, (i+1)%n, i, i)
		if i == n/2 {
			for j := range 3000 {
				fmt.Fprintf(&b, "X:%s %d\n", strings.Repeat("x", 40), j)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func tarGz(t *testing.T, text string) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: index.TextName, Mode: 0o644, Size: int64(len(text)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(text))
	tw.Close()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(tb.Bytes())
	zw.Close()
	return b.Bytes()
}

// TestReadPieces checks that reading the text a piece at a time gives what
// parsing it whole gives, that the batches ReadVerifiedFunc hands out are
// the records in order, and that line numbers run across the pieces.
func TestReadPieces(t *testing.T) {
	t.Parallel()
	text := piecesText(3000)
	want, err := index.ParseText([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := index.Read(bytes.NewReader(tarGz(t, text)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, ix.Records); diff != "" {
		t.Fatalf("pieces differ from the whole (-want +got):\n%s", diff)
	}

	var buf bytes.Buffer
	if err := index.WriteSigned(&buf, &index.Index{Records: want}, key(t), sign.RSA256); err != nil {
		t.Fatal(err)
	}
	var batches [][]*index.Record
	var got []*index.Record
	ix, err = index.ReadVerifiedFunc(bytes.NewReader(buf.Bytes()), nil, func(recs []*index.Record) {
		batches = append(batches, recs)
		got = append(got, recs...)
	})
	if ix == nil {
		t.Fatalf("untrusted index not returned: %v", err)
	}
	if len(batches) < 4 {
		t.Errorf("%d batches for %d bytes of text; want it read in pieces", len(batches), len(text))
	}
	if diff := cmp.Diff(ix.Records, got); diff != "" {
		t.Errorf("batches differ from the records (-want +got):\n%s", diff)
	}

	// A bad line far into the text is named by its line in the whole text.
	lines := strings.Split(text, "\n")
	bad := len(lines) - 20
	lines[bad-1] = "not a field"
	_, err = index.Read(bytes.NewReader(tarGz(t, strings.Join(lines, "\n"))))
	if msg := fmt.Sprintf("APKINDEX:%d:", bad); err == nil || !strings.Contains(err.Error(), msg) {
		t.Errorf("error %v, want one naming %s", err, msg)
	}
}
