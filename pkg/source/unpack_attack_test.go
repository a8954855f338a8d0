package source

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// paxSparse returns a tar holding one PAX (GNU 1.0) sparse file that claims
// realsize bytes but stores one data block: extracting it naively writes
// realsize bytes of zeros.
func paxSparse(t *testing.T, name string, realsize int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	block := func(b []byte) {
		buf.Write(b)
		if pad := len(b) % 512; pad != 0 {
			buf.Write(make([]byte, 512-pad))
		}
	}
	records := ""
	for _, kv := range [][2]string{
		{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", name}, {"GNU.sparse.realsize", fmt.Sprint(realsize)},
	} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 1
		for len(fmt.Sprint(n))+len(rec) != n {
			n++
		}
		records += fmt.Sprint(n) + rec
	}
	hdr := func(name string, typ byte, size int) []byte {
		h := make([]byte, 512)
		copy(h[0:], name)
		copy(h[100:], "0000644\x00")
		copy(h[108:], "0000000\x00")
		copy(h[116:], "0000000\x00")
		copy(h[124:], fmt.Sprintf("%011o\x00", size))
		copy(h[136:], "00000000000\x00")
		h[156] = typ
		copy(h[257:], "ustar\x0000")
		copy(h[148:], "        ")
		sum := 0
		for _, c := range h {
			sum += int(c)
		}
		copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
		return h
	}
	block(hdr("PaxHeaders/x", 'x', len(records)))
	block([]byte(records))
	// The sparse map (one data segment of 512 bytes at the end), then the data.
	sparseMap := fmt.Sprintf("1\n%d\n512\n", realsize-512)
	block(hdr("GNUSparseFile.0/x", '0', 512+512))
	block([]byte(sparseMap))
	block(bytes.Repeat([]byte("d"), 512))
	buf.Write(make([]byte, 1024))
	return buf.Bytes()
}

// TestUnpackMoreAttacks: archives that are small but expand hugely, nest
// deeply, carry huge headers or chain links; each is refused or unpacked
// within dest and bounds.
func TestUnpackMoreAttacks(t *testing.T) {
	deep := strings.Repeat("d/", 3000) + "f"
	tests := []struct {
		name string
		tar  func(t *testing.T) []byte
		opts UnpackOptions
		// wantErr, when set, must be in the error; "" means any outcome
		// but a write outside dest or past MaxBytes.
		wantErr string
	}{
		{name: "sparse file claiming a terabyte", tar: func(t *testing.T) []byte { return paxSparse(t, "sparse", 1<<40) }, opts: UnpackOptions{MaxBytes: 1 << 20}, wantErr: "expands beyond"},
		{name: "very deep path", tar: func(t *testing.T) []byte { return makeTar(t, []entry{{name: deep, body: "x"}}) }},
		{name: "symlink chain out", tar: func(t *testing.T) []byte {
			return makeTar(t, []entry{
				{name: "a", typ: tar.TypeSymlink, link: "b"},
				{name: "b", typ: tar.TypeSymlink, link: "c/../.."},
				{name: "c/", typ: tar.TypeDir},
				{name: "a/evil", body: "x"},
			})
		}, wantErr: "symlink"},
		{name: "hard link to a symlink that leads out, then write through it", tar: func(t *testing.T) []byte {
			return makeTar(t, []entry{
				{name: "s", typ: tar.TypeSymlink, link: "../outside"},
				{name: "h", typ: tar.TypeLink, link: "s"},
				{name: "h/victim", body: "overwritten"},
			})
		}, wantErr: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := t.TempDir()
			outside := filepath.Join(top, "outside")
			os.Mkdir(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "victim"), []byte("victim"), 0o644)
			archive := filepath.Join(top, "h.tar")
			if err := os.WriteFile(archive, tt.tar(t), 0o644); err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(top, "src")
			err := Unpack(context.Background(), archive, dest, tt.opts)
			t.Logf("err = %v", err)
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "victim" {
				t.Errorf("victim outside dest was changed: %q", b)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 1 {
				t.Errorf("outside holds %d entries", len(ents))
			}
			var total int64
			filepath.Walk(dest, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.Mode().IsRegular() {
					total += fi.Size()
				}
				return nil
			})
			// The bound is detected by reading one byte past it.
			if tt.opts.MaxBytes > 0 && total > tt.opts.MaxBytes+1 {
				t.Errorf("%d bytes written, bound %d", total, tt.opts.MaxBytes)
			}
		})
	}
}
