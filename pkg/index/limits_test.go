package index_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
)

// TestWriteLineLimit checks that no line the writer produces is longer
// than apk reads: "x:", the value and the newline fill apk's buffer at
// most. (The lines before D: are bound by MaxHeaderSize together.)
func TestWriteLineLimit(t *testing.T) {
	t.Parallel()
	maxValue := apk.MaxLineSize - len("x:") - 1
	// Items of 99 bytes, each with a separator.
	items := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("so:lib%093d", i))
		}
		return out
	}
	// "D:" + 1310 items and 1309 spaces + newline = 131002 bytes; the last
	// item grows to fill the line exactly.
	exact := items(1310)
	exact[len(exact)-1] += strings.Repeat("x", apk.MaxLineSize-131002)
	tests := []struct {
		name  string
		edit  func(r *index.Record)
		field string // "" when the record is written
	}{
		{"longest extra line", func(r *index.Record) { r.Extra = []index.Field{{Key: 'x', Value: strings.Repeat("x", maxValue)}} }, ""},
		{"extra line one byte too long", func(r *index.Record) { r.Extra = []index.Field{{Key: 'x', Value: strings.Repeat("x", maxValue+1)}} }, "x"},
		{"T one byte too long", func(r *index.Record) { r.Description = strings.Repeat("d", maxValue+1) }, "T (pkgdesc)"},
		{"200 KB T", func(r *index.Record) { r.Description = strings.Repeat("d", 200_000) }, "T (pkgdesc)"},
		{"long U", func(r *index.Record) { r.URL = strings.Repeat("u", maxValue+1) }, "U (url)"},
		{"long c", func(r *index.Record) { r.Commit = strings.Repeat("c", maxValue+1) }, "c (commit)"},
		{"longest D", func(r *index.Record) { r.Depends = exact }, ""},
		{"D one byte too long", func(r *index.Record) {
			r.Depends = append(exact[:len(exact)-1:len(exact)-1], exact[len(exact)-1]+"x")
		}, "D (depend)"},
		{"many p", func(r *index.Record) { r.Provides = items(1400) }, "p (provides)"},
		{"many i", func(r *index.Record) { r.InstallIf = items(1400) }, "i (install_if)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := helloRecord()
			tt.edit(r)
			text, err := r.AppendText(nil)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.SplitAfter(string(text), "\n") {
					if len(line) > apk.MaxLineSize {
						t.Errorf("line of %d bytes written", len(line))
					}
				}
				recs, err := index.ParseText(text)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]*index.Record{r}, recs); diff != "" {
					t.Errorf("read back (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, apk.ErrLineTooLong) {
				t.Fatalf("error %v, want ErrLineTooLong", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "hello-2.12.1-r0") || !strings.Contains(msg, tt.field+":") {
				t.Errorf("error %q does not name the package and %s", msg, tt.field)
			}
			var b bytes.Buffer
			if err := index.WriteText(&b, []*index.Record{r}); !errors.Is(err, apk.ErrLineTooLong) {
				t.Errorf("WriteText: %v, want ErrLineTooLong", err)
			}
		})
	}
}

// TestParseLineLimit checks that the reader refuses what apk cannot read:
// a line that does not fit in its buffer, and a list that apk would write
// on one line of its database of installed packages that does not.
func TestParseLineLimit(t *testing.T) {
	t.Parallel()
	rec := "P:a\nV:1\n"
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"longest line", rec + "x:" + strings.Repeat("d", apk.MaxLineSize-3) + "\n\n", true},
		{"longest line at the end without newline", rec + "D:" + strings.Repeat("d", apk.MaxLineSize-3), true},
		{"line one byte too long", rec + "x:" + strings.Repeat("d", apk.MaxLineSize-2) + "\n\n", false},
		{"T line too long", rec + "T:" + strings.Repeat("d", apk.MaxLineSize) + "\n\n", false},
		{"D split over two lines that fit", rec + "D:" + strings.Repeat("a", 70_000) + "\nD:" + strings.Repeat("b", 70_000) + "\n\n", false},
		{"D split over two short lines", rec + "D:a\nD:b\n\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, err := index.ParseText([]byte(tt.in))
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := index.AppendText(nil, recs); err != nil {
					t.Errorf("read but not written: %v", err)
				}
				return
			}
			var pe *index.ParseError
			if !errors.As(err, &pe) || !errors.Is(err, apk.ErrLineTooLong) {
				t.Fatalf("error %v, want a ParseError wrapping ErrLineTooLong", err)
			}
		})
	}
}

// TestTabSeparatedItems reads an index whose D: items are separated by
// tabs: apk separates items at spaces only, so each line is one item (with
// its tabs), and it is written back as it was. An index with four million
// of them, once read with tabs as separators and written back with
// spaces, no longer read ("more than 4194304 dependency items").
func TestTabSeparatedItems(t *testing.T) {
	t.Parallel()
	recs, err := index.ParseText([]byte("P:a\nV:1\nD:x\ty z\t\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"x\ty", "z\t"}, recs[0].Depends); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	// 70 records of one line of 60,000 tab-separated x: 4.2 million x.
	one := "P:a\nV:1\nD:" + strings.Repeat("x\t", 60_000) + "\n\n"
	in := []byte(strings.Repeat(one, index.MaxItems/60_000+1))
	recs, err = index.ParseText(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := index.AppendText(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := index.ParseText(out)
	if err != nil {
		t.Fatalf("written index does not read: %v", err)
	}
	if !cmp.Equal(recs, again) {
		t.Error("records changed in the round trip")
	}
}

// TestHeaderLimit checks the lines before D:, which apk writes into its
// database of installed packages through a 2048-byte buffer: a record
// that does not fit would truncate that database when installed.
func TestHeaderLimit(t *testing.T) {
	t.Parallel()
	r := helloRecord()
	base, err := r.AppendText(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The lines before D: ("p:" is the first list line of helloRecord).
	header := bytes.Index(base, []byte("\np:")) + 1
	fill := index.MaxHeaderSize - header
	for _, tt := range []struct {
		name string
		desc int
		ok   bool
	}{
		{"exactly full", len(r.Description) + fill, true},
		{"one byte over", len(r.Description) + fill + 1, false},
		{"a 3000-byte pkgdesc", 3000, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := helloRecord()
			r.Description = strings.Repeat("d", tt.desc)
			text, err := r.AppendText(nil)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if got := bytes.Index(text, []byte("\np:")) + 1; got != index.MaxHeaderSize {
					t.Errorf("header of %d bytes, want %d", got, index.MaxHeaderSize)
				}
				if _, err := index.ParseText(text); err != nil {
					t.Errorf("ParseText: %v", err)
				}
				return
			}
			if !errors.Is(err, index.ErrHeaderTooLong) || !strings.Contains(err.Error(), "hello-2.12.1-r0") || !strings.Contains(err.Error(), "T (pkgdesc)") {
				t.Errorf("AppendText: %v, want ErrHeaderTooLong naming the record and T (pkgdesc)", err)
			}
			// The same record, as another tool could write it, is not read.
			text = []byte(strings.Replace(string(base), "T:"+helloRecord().Description, "T:"+r.Description, 1))
			var pe *index.ParseError
			if _, err := index.ParseText(text); !errors.As(err, &pe) || !errors.Is(err, index.ErrHeaderTooLong) {
				t.Errorf("ParseText: %v, want a ParseError wrapping ErrHeaderTooLong", err)
			}
		})
	}
}

// TestReadTextSizeRoundTrip checks that an index Read accepts is written
// so that Read accepts it again, although records without S:, I:, T:, U:
// and L: lines grow when written. (Not parallel: it lowers the limit.)
func TestReadTextSizeRoundTrip(t *testing.T) {
	defer index.SetMaxText(1000)()
	archive := func(text string) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Name: index.TextName, Mode: 0o644, Size: int64(len(text)), Typeflag: tar.TypeReg})
		tw.Write([]byte(text))
		tw.Close()
		zw.Close()
		return out.Bytes()
	}
	for _, tt := range []struct {
		name string
		text string
		ok   bool
	}{
		// 9 bytes each as read, 26 as written.
		{"short records that grow", strings.Repeat("P:a\nV:1\n\n", 100), false},
		{"short records that fit when written", strings.Repeat("P:a\nV:1\n\n", 38), true},
		{"whole records", strings.Repeat("P:a\nV:1\nS:0\nI:0\nT:\nU:\nL:\n\n", 38), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := index.Read(bytes.NewReader(archive(tt.text)))
			if !tt.ok {
				if !errors.Is(err, index.ErrTooLarge) {
					t.Fatalf("error %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := index.Write(&out, ix); err != nil {
				t.Fatal(err)
			}
			if _, err := index.Read(&out); err != nil {
				t.Errorf("written index does not read: %v", err)
			}
		})
	}
}
