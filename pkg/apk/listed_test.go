package apk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestReadListsBoundedMismatches: a package of many files whose checksums
// do not match keeps MaxListed of their paths and counts them all, and
// Verify's error names a few and how many more, not every path.
func TestReadListsBoundedMismatches(t *testing.T) {
	const n = MaxListed + 50
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for i := range n {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("f%04d", i), Mode: 0o644, Format: tar.FormatPAX,
			PAXRecords: map[string]string{ChecksumKey: strings.Repeat("0", 40)}}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	var data bytes.Buffer
	zw := gzip.NewWriter(&data)
	zw.Write(raw.Bytes())
	zw.Close()
	info := testInfo()
	sum := sha256.Sum256(data.Bytes())
	info.DataHash = hex.EncodeToString(sum[:])
	ctl, err := controlMember(&info, nil, epoch)
	if err != nil {
		t.Fatal(err)
	}
	pkg := append(ctl, data.Bytes()...)

	p, err := Read(bytes.NewReader(pkg), &ReadOptions{NoFileList: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Mismatches) != MaxListed || p.MismatchCount != n || p.Mismatches[0] != "f0000" {
		t.Errorf("%d listed (first %q), %d counted; want %d listed from f0000, %d counted", len(p.Mismatches), p.Mismatches[0], p.MismatchCount, MaxListed, n)
	}
	res := Verify(bytes.NewReader(pkg), nil, &VerifyOptions{AllowUntrusted: true, Read: ReadOptions{NoFileList: true}})
	if !errors.Is(res.Err, ErrChecksumMismatch) || !strings.Contains(res.Err.Error(), fmt.Sprintf("and %d more", n-10)) || strings.Contains(res.Err.Error(), "f0010") {
		t.Errorf("Verify: %v", res.Err)
	}
}

// TestReadEntryOrder: the reader's bookkeeping of the paths it has seen
// (kept as hashes, not names) still refuses a path given twice, an entry
// before its directory and a hard link to no earlier file, and accepts a
// well-ordered tree with a hard link.
func TestReadEntryOrder(t *testing.T) {
	dir := func(n string) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeDir, Name: n + "/", Mode: 0o755, Format: tar.FormatPAX}
	}
	file := func(n string) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Format: tar.FormatPAX,
			PAXRecords: map[string]string{ChecksumKey: "da39a3ee5e6b4b0d3255bfef95601890afd80709"}}
	}
	link := func(n, to string) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeLink, Name: n, Linkname: to, Mode: 0o644, Format: tar.FormatPAX}
	}
	for _, tc := range []struct {
		name string
		hdrs []*tar.Header
		bad  string // in the error; "" for none
	}{
		{"well ordered", []*tar.Header{dir("usr"), dir("usr/bin"), file("usr/bin/a"), link("usr/bin/b", "usr/bin/a")}, ""},
		{"twice", []*tar.Header{dir("usr"), file("usr/a"), file("usr/a")}, "appears twice"},
		{"before its directory", []*tar.Header{dir("usr"), file("usr/bin/a"), dir("usr/bin")}, "comes before its directory"},
		{"parent is a file", []*tar.Header{file("usr"), file("usr/a")}, "comes before its directory"},
		{"link to a later file", []*tar.Header{dir("usr"), link("usr/b", "usr/a"), file("usr/a")}, "not an earlier file"},
		{"link to a directory", []*tar.Header{dir("usr"), link("usr/b", "usr")}, "not an earlier file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw bytes.Buffer
			tw := tar.NewWriter(&raw)
			for _, h := range tc.hdrs {
				if err := tw.WriteHeader(h); err != nil {
					t.Fatal(err)
				}
			}
			tw.Close()
			var data bytes.Buffer
			zw := gzip.NewWriter(&data)
			zw.Write(raw.Bytes())
			zw.Close()
			info := testInfo()
			ctl, err := controlMember(&info, nil, epoch)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Read(bytes.NewReader(append(ctl, data.Bytes()...)), &ReadOptions{NoFileList: true})
			switch {
			case tc.bad == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.bad != "" && (!errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.bad)):
				t.Errorf("err = %v, want one with %q", err, tc.bad)
			}
		})
	}
}
