package index_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/index"
)

// realIndex describes one of the real Alpine indexes in the shared fixtures.
type realIndex struct {
	path        string
	records     int
	description string
	signature   string
}

var realIndexes = []realIndex{
	{
		path:        "testdata/alpine/alpine-316/APKINDEX.tar.gz",
		records:     4929,
		description: "v3.16.3-13-g4d933a1fa3",
		signature:   ".SIGN.RSA.alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub",
	},
	{
		path:        "testdata/alpine/alpine-317/APKINDEX.tar.gz",
		records:     5004,
		description: "v3.17.3-216-g54a39ace82a",
		signature:   ".SIGN.RSA.alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub",
	},
}

// members splits a file into its gzip members' decompressed contents.
func members(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	br := bytes.NewReader(b)
	for br.Len() > 0 {
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		d, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// entry returns the data of the tar entry name in the decompressed tar.
func entry(t *testing.T, tarball []byte, name string) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no %s entry: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

func TestRealIndexes(t *testing.T) {
	shared := alpinetest.Shared(t)
	for _, ri := range realIndexes {
		t.Run(ri.path, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join(shared, ri.path))
			if err != nil {
				t.Fatal(err)
			}
			ix, err := index.Read(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if len(ix.Records) != ri.records {
				t.Errorf("%d records, want %d", len(ix.Records), ri.records)
			}
			if ix.Description != ri.description {
				t.Errorf("description %q, want %q", ix.Description, ri.description)
			}
			if diff := cmp.Diff([]string{ri.signature}, ix.Signatures); diff != "" {
				t.Errorf("signatures (-want +got):\n%s", diff)
			}

			ms := members(t, raw)
			if len(ms) != 2 {
				t.Fatalf("%d gzip members, want 2", len(ms))
			}
			wantText := entry(t, ms[1], index.TextName)

			// The text written back is byte-identical.
			gotText, err := index.AppendText(nil, ix.Records)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(wantText, gotText) {
				t.Errorf("APKINDEX text differs after a round trip:\n%s", firstDiff(wantText, gotText))
			}

			// So is the whole unsigned tar, headers included.
			var tb bytes.Buffer
			if err := index.WriteTar(&tb, ix); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ms[1], tb.Bytes()) {
				t.Errorf("unsigned tar differs from apk's:\n%s", firstDiff(ms[1], tb.Bytes()))
			}

			// And the compressed form reads back to the same index.
			var zb bytes.Buffer
			if err := index.Write(&zb, ix); err != nil {
				t.Fatal(err)
			}
			if n := len(members(t, zb.Bytes())); n != 1 {
				t.Errorf("Write made %d gzip members, want 1", n)
			}
			back, err := index.Read(&zb)
			if err != nil {
				t.Fatal(err)
			}
			ix.Signatures = nil
			if diff := cmp.Diff(ix, back); diff != "" {
				t.Errorf("index after Write and Read (-want +got):\n%s", diff)
			}
		})
	}
}

// firstDiff describes where two byte slices first differ.
func firstDiff(want, got []byte) string {
	n := min(len(want), len(got))
	i := 0
	for i < n && want[i] == got[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("at byte %d:\nwant: %s\ngot:  %s", i, quoteRange(want, lo, i+80), quoteRange(got, lo, i+80))
}

func quoteRange(b []byte, lo, hi int) string {
	hi = min(hi, len(b))
	if lo > hi {
		return `""`
	}
	return strings.ReplaceAll(string(b[lo:hi]), "\n", `\n`)
}

func TestWriteRead(t *testing.T) {
	t.Parallel()
	ix := &index.Index{
		Description: "main v3.20.0-12-gabcdef0",
		ModTime:     time.Unix(1700000000, 0),
		Records:     []*index.Record{helloRecord()},
	}
	var b bytes.Buffer
	if err := index.Write(&b, ix); err != nil {
		t.Fatal(err)
	}
	got, err := index.Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ix, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Without a description there is no DESCRIPTION entry.
	ix.Description = ""
	var tb bytes.Buffer
	if err := index.WriteTar(&tb, ix); err != nil {
		t.Fatal(err)
	}
	h, err := tar.NewReader(&tb).Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != index.TextName {
		t.Errorf("first entry %q, want %q", h.Name, index.TextName)
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	gz := func(tarball []byte) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(tarball)
		zw.Close()
		return b.Bytes()
	}
	tarOf := func(entries map[string]string, order ...string) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, name := range order {
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(entries[name])), Typeflag: tar.TypeReg})
			tw.Write([]byte(entries[name]))
		}
		tw.Close()
		return b.Bytes()
	}
	good := tarOf(map[string]string{"APKINDEX": "P:a\nV:1-r0\n\n"}, "APKINDEX")
	corrupt := gz(good)
	corrupt[len(corrupt)-5] ^= 0xff // the CRC

	tests := []struct {
		name string
		in   []byte
		want error  // matched with errors.Is when set
		msg  string // else a substring of the message
	}{
		{name: "not gzip", in: []byte("hello, this is not gzip at all"), msg: "gzip"},
		{name: "empty", in: nil, msg: "EOF"},
		{name: "no APKINDEX", in: gz(tarOf(map[string]string{"DESCRIPTION": "x"}, "DESCRIPTION")), want: index.ErrNoText},
		{name: "bad text", in: gz(tarOf(map[string]string{"APKINDEX": "hello\n"}, "APKINDEX")), msg: "APKINDEX:1:"},
		{name: "two texts", in: gz(tarOf(map[string]string{"APKINDEX": "P:a\nV:1\n\n"}, "APKINDEX", "APKINDEX")), msg: "two APKINDEX"},
		{name: "bad crc", in: corrupt, msg: "checksum"},
		{name: "trailing data", in: append(gz(good), gz([]byte("junk"))...), msg: "after the end"},
		{name: "truncated", in: gz(good)[:40], msg: "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := index.Read(bytes.NewReader(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestReadTooLarge(t *testing.T) {
	t.Parallel()
	// A small gzip stream that claims and holds a huge APKINDEX.
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	size := int64(index.MaxTextSize + 1)
	tw.WriteHeader(&tar.Header{Name: "APKINDEX", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	tw.Flush()
	zw.Close()
	_, err := index.Read(&b)
	if !errors.Is(err, index.ErrTooLarge) {
		t.Errorf("error %v, want ErrTooLarge", err)
	}
}

// FuzzRead checks that reading hostile archives never panics, and that
// whatever it reads is written and read back the same.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	index.Write(&b, &index.Index{Description: "d", Records: []*index.Record{helloRecord()}})
	f.Add(b.Bytes())
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	// A small archive of tab-separated D: items, more than MaxItems if a
	// tab separated them: once read so and written back with spaces, it
	// no longer read. (The fuzzer found it as a gzip stream that repeats
	// "x\t"; the failure killed the worker before it saved the input.)
	var text bytes.Buffer
	for range index.MaxItems/60_000 + 1 {
		text.WriteString("P:a\nV:1\nD:" + strings.Repeat("x\t", 60_000) + "\n\n")
	}
	b.Reset()
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: index.TextName, Mode: 0o644, Size: int64(text.Len()), Typeflag: tar.TypeReg})
	tw.Write(text.Bytes())
	tw.Close()
	zw.Close()
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := index.Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever is read is written, and reads back the same.
		var out bytes.Buffer
		if err := index.Write(&out, ix); err != nil {
			t.Fatalf("read index is not written: %v", err)
		}
		again, err := index.Read(&out)
		if err != nil {
			t.Fatalf("index written from a read one does not read: %v", err)
		}
		if diff := cmp.Diff(ix.Records, again.Records, cmpopts.EquateEmpty(), ignoreEmpty); diff != "" {
			t.Fatalf("records changed in a round trip (-read +written and read):\n%s", diff)
		}
		if ix.Description != again.Description {
			t.Fatalf("description %q read back as %q", ix.Description, again.Description)
		}
	})
}
