package apk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadMaxEntriesWithoutFileList: the bound on data entries holds
// whether or not the reader keeps the file list; without it a package of
// millions of empty files grows the reader's bookkeeping without limit.
func TestReadMaxEntriesWithoutFileList(t *testing.T) {
	tree := t.TempDir()
	for i := range 50 {
		if err := os.WriteFile(filepath.Join(tree, fmt.Sprintf("f%03d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var pkg bytes.Buffer
	if _, err := Write(&pkg, &Input{Info: testInfo(), Dir: tree, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	for _, noList := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoFileList=%v", noList), func(t *testing.T) {
			_, err := Read(bytes.NewReader(pkg.Bytes()), &ReadOptions{MaxEntries: 10, NoFileList: noList})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want a refusal for too many entries", err)
			}
		})
	}
}

// TestReadMaxNameBytes: long names are bounded in total, not only in
// number, so a compressed stream of many entries with 4 KB names cannot
// make the reader hold gigabytes of paths.
func TestReadMaxNameBytes(t *testing.T) {
	tree := t.TempDir()
	long := bytes.Repeat([]byte("n"), 200)
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(tree, fmt.Sprintf("%s%03d", long, i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var pkg bytes.Buffer
	if _, err := Write(&pkg, &Input{Info: testInfo(), Dir: tree, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	defer func(old int) { maxNameBytes = old }(maxNameBytes)
	maxNameBytes = 2000
	for _, noList := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoFileList=%v", noList), func(t *testing.T) {
			_, err := Read(bytes.NewReader(pkg.Bytes()), &ReadOptions{NoFileList: noList})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want a refusal for too many name bytes", err)
			}
		})
	}
	maxNameBytes = 1 << 20
	if _, err := Read(bytes.NewReader(pkg.Bytes()), nil); err != nil {
		t.Fatalf("within the bound: %v", err)
	}
}

// TestReadMaxDataSize: the content a data segment expands to is bounded,
// so a small upload that decompresses to hundreds of gigabytes (a gzip
// bomb) is refused when its headers add up past the bound, before the
// reader spends minutes hashing zeros.
func TestReadMaxDataSize(t *testing.T) {
	tree := t.TempDir()
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(tree, fmt.Sprintf("f%d", i)), make([]byte, 1000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var pkg bytes.Buffer
	if _, err := Write(&pkg, &Input{Info: testInfo(), Dir: tree, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	_, err := Read(bytes.NewReader(pkg.Bytes()), &ReadOptions{MaxDataSize: 2500})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "2500") {
		t.Fatalf("err = %v, want a refusal for more than 2500 bytes of content", err)
	}
	if _, err := Read(bytes.NewReader(pkg.Bytes()), &ReadOptions{MaxDataSize: 3000}); err != nil {
		t.Fatalf("within the bound: %v", err)
	}
}

// TestReadMaxMetadataBytes: extended attributes and PAX user and group
// names (each up to a megabyte per entry in a PAX header) count against the
// same bound as names, so a compressed stream of entries repeating large
// attributes cannot make the reader hold gigabytes of them.
func TestReadMaxMetadataBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  func(i int) *tar.Header
	}{
		{"xattrs", func(i int) *tar.Header {
			return &tar.Header{Name: fmt.Sprintf("f%d", i), Mode: 0o644, Format: tar.FormatPAX,
				PAXRecords: map[string]string{"SCHILY.xattr.user.big": strings.Repeat("v", 500)}}
		}},
		{"uname", func(i int) *tar.Header {
			return &tar.Header{Name: fmt.Sprintf("f%d", i), Mode: 0o644, Format: tar.FormatPAX, Uname: strings.Repeat("u", 500)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw bytes.Buffer
			tw := tar.NewWriter(&raw)
			for i := range 20 {
				if err := tw.WriteHeader(tc.hdr(i)); err != nil {
					t.Fatal(err)
				}
			}
			tw.Flush()
			raw.Write(make([]byte, 1024))
			var data bytes.Buffer
			zw := gzip.NewWriter(&data)
			zw.Write(raw.Bytes())
			zw.Close()
			info := testInfo()
			info.DataHash = strings.Repeat("0", 64)
			ctl, err := controlMember(&info, nil, epoch)
			if err != nil {
				t.Fatal(err)
			}
			pkg := append(ctl, data.Bytes()...)
			defer func(old int) { maxNameBytes = old }(maxNameBytes)
			maxNameBytes = 5000
			if _, err := Read(bytes.NewReader(pkg), &ReadOptions{NoFileList: true}); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want a refusal for too many bytes of metadata", err)
			}
			maxNameBytes = 1 << 20
			if _, err := Read(bytes.NewReader(pkg), nil); err != nil {
				t.Fatalf("within the bound: %v", err)
			}
		})
	}
}

// TestReadControlEntryBounds: a control segment of many empty entries, or
// of entries with megabyte-long PAX names, is refused rather than kept.
func TestReadControlEntryBounds(t *testing.T) {
	info := testInfo()
	text, err := info.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		n       int
		nameLen int
	}{
		{"many empty entries", 100000, 10},
		{"long names", 40, 1 << 19},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw bytes.Buffer
			tw := tar.NewWriter(&raw)
			tw.WriteHeader(&tar.Header{Name: ".PKGINFO", Mode: 0o644, Size: int64(len(text)), Format: tar.FormatPAX})
			tw.Write(text)
			for i := range tc.n {
				name := fmt.Sprintf(".%0*d", tc.nameLen, i)
				if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Format: tar.FormatPAX}); err != nil {
					t.Fatal(err)
				}
			}
			tw.Flush() // no end-of-archive blocks in the control segment
			var pkg bytes.Buffer
			zw := gzip.NewWriter(&pkg)
			zw.Write(raw.Bytes())
			zw.Close()
			zw = gzip.NewWriter(&pkg)
			tar.NewWriter(zw).Close()
			zw.Close()
			_, err := Read(bytes.NewReader(pkg.Bytes()), &ReadOptions{ControlOnly: true})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
