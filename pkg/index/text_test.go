package index_test

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/index"
)

// helloText is the record apk index 2.14 writes for the APK format reference's
// test package hello-2.12.1-r0 (its worked example of an index record).
const helloText = `C:Q1GzcgLD4QLgxRjM+V3jn8JU0OZOw=
P:hello
V:2.12.1-r0
A:x86_64
S:1300
I:27
T:Friendly greeting program
U:https://www.gnu.org/software/hello/
L:GPL-3.0-or-later
o:hello
m:Test <test@example.com>
t:1700000000
c:0123456789abcdef0123456789abcdef01234567
p:cmd:hello=2.12.1-r0

`

func helloRecord() *index.Record {
	return &index.Record{
		Checksum:      "Q1GzcgLD4QLgxRjM+V3jn8JU0OZOw=",
		Name:          "hello",
		Version:       "2.12.1-r0",
		Arch:          "x86_64",
		Size:          1300,
		InstalledSize: 27,
		Description:   "Friendly greeting program",
		URL:           "https://www.gnu.org/software/hello/",
		License:       "GPL-3.0-or-later",
		Origin:        "hello",
		Maintainer:    "Test <test@example.com>",
		BuildTime:     1700000000,
		Commit:        "0123456789abcdef0123456789abcdef01234567",
		Provides:      []string{"cmd:hello=2.12.1-r0"},
	}
}

func TestParseText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []*index.Record
	}{
		{name: "spec example", in: helloText, want: []*index.Record{helloRecord()}},
		{name: "empty", in: "", want: []*index.Record{}},
		{name: "blank lines only", in: "\n\n\n", want: []*index.Record{}},
		{
			name: "no final blank line",
			in:   "P:a\nV:1-r0",
			want: []*index.Record{{Name: "a", Version: "1-r0"}},
		},
		{
			name: "several blank lines between records",
			in:   "P:a\nV:1-r0\n\n\n\nP:b\nV:2-r0\n\n",
			want: []*index.Record{{Name: "a", Version: "1-r0"}, {Name: "b", Version: "2-r0"}},
		},
		{
			name: "all fields, lists, extra letters kept in order",
			in: "C:Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\nP:libfoo\nV:1.0-r2\nA:aarch64\nS:10\nI:20\nT: spaced  out \nU:u\nL:MIT\n" +
				"o:foo\nm:M <m@x>\nt:5\nc:abc\nk:100\nD:so:libc.musl-aarch64.so.1 !bar  baz>=2\nD:qux\np:so:libfoo.so.1=1.0\ni:foo=1.0-r2 docs\n" +
				"x:unknown lower\nZ:unknown upper\n\n",
			want: []*index.Record{{
				Checksum: "Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0=", Name: "libfoo", Version: "1.0-r2", Arch: "aarch64",
				Size: 10, InstalledSize: 20, Description: " spaced  out ", URL: "u", License: "MIT",
				Origin: "foo", Maintainer: "M <m@x>", BuildTime: 5, Commit: "abc", ProviderPriority: 100,
				Depends:   []string{"so:libc.musl-aarch64.so.1", "!bar", "baz>=2", "qux"},
				Provides:  []string{"so:libfoo.so.1=1.0"},
				InstallIf: []string{"foo=1.0-r2", "docs"},
				Extra:     []index.Field{{Key: 'x', Value: "unknown lower"}, {Key: 'Z', Value: "unknown upper"}},
			}},
		},
		{
			name: "bare optional lines",
			in:   "P:a\nV:1-r0\nA:\nS:1\nI:1\nT:\nU:\nL:\no:\nm:\nc:\n\n",
			want: []*index.Record{{Name: "a", Version: "1-r0", Size: 1, InstalledSize: 1, Empty: "Aomc"}},
		},
		{
			name: "repeated scalar keeps the last value",
			in:   "P:a\nV:1-r0\nV:2-r0\n\n",
			want: []*index.Record{{Name: "a", Version: "2-r0"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := index.ParseText([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTextErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		{name: "no colon", in: "P:a\nV:1\nhello\n\n", line: 3, msg: "not X:value"},
		{name: "one byte line", in: "P:a\nV:1\nX\n\n", line: 3, msg: "not X:value"},
		{name: "space before colon", in: "P :a\n", line: 1, msg: "not X:value"},
		{name: "bad size", in: "P:a\nV:1\nS:12k\n\n", line: 3, msg: "S: \"12k\" is not a decimal number"},
		{name: "negative installed size", in: "P:a\nV:1\nI:-1\n\n", line: 3, msg: "is not a decimal number"},
		{name: "empty build time", in: "P:a\nV:1\nt:\n\n", line: 3, msg: "t: empty number"},
		{name: "huge priority", in: "P:a\nV:1\nk:99999999999999999999\n\n", line: 3, msg: "out of range"},
		{name: "no name", in: "P:a\nV:1\n\nV:2\nS:1\n\n", line: 4, msg: "no P: field"},
		{name: "no version", in: "P:a\n\n", line: 1, msg: "record a has no V: field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := index.ParseText([]byte(tt.in))
			var pe *index.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a *ParseError", err)
			}
			if pe.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", pe.Line, tt.line, err)
			}
			if !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "APKINDEX:") {
				t.Errorf("error %q does not start with the position", err)
			}
		})
	}
}

func TestAppendText(t *testing.T) {
	t.Parallel()
	bare := "P:a\nV:1-r0\nA:\nS:1\nI:1\nT:\nU:\nL:\no:\nm:\nc:\n\n"
	recs, _ := index.ParseText([]byte(bare))
	if got, _ := index.AppendText(nil, recs); string(got) != bare {
		t.Errorf("bare lines not kept:\n%s", got)
	}
	got, err := index.AppendText(nil, []*index.Record{helloRecord()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(helloText, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	var b bytes.Buffer
	if err := index.WriteText(&b, []*index.Record{helloRecord(), helloRecord()}); err != nil {
		t.Fatal(err)
	}
	if b.String() != helloText+helloText {
		t.Errorf("WriteText:\n%s", b.String())
	}
}

func TestAppendTextRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(r *index.Record)
		msg    string
	}{
		{"newline in description", func(r *index.Record) { r.Description = "a\nP:evil" }, "T: value contains a newline"},
		{"newline in extra", func(r *index.Record) { r.Extra = []index.Field{{Key: 'x', Value: "\n"}} }, "newline"},
		{"space in depend", func(r *index.Record) { r.Depends = []string{"a b"} }, `D: bad item "a b"`},
		{"empty provide", func(r *index.Record) { r.Provides = []string{""} }, "p: bad item"},
		{"no name", func(r *index.Record) { r.Name = "" }, "no name"},
		{"no version", func(r *index.Record) { r.Version = "" }, "no version"},
		{"negative size", func(r *index.Record) { r.Size = -1 }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := helloRecord()
			tt.modify(r)
			b, err := r.AppendText([]byte("keep"))
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v, want one containing %q", err, tt.msg)
			}
			if string(b) != "keep" {
				t.Errorf("buffer changed to %q", b)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	sum := sha1.Sum([]byte("abc"))
	const want = "Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
	if got := index.Identity(sum[:]); got != want {
		t.Errorf("Identity = %q, want %q", got, want)
	}
	if got := index.IdentityOf([]byte("abc")); got != want {
		t.Errorf("IdentityOf = %q, want %q", got, want)
	}
	for _, s := range []string{want, "X1a9993e364706816aba3e25717850c26c9cd0d89d"} {
		d, err := index.ParseIdentity(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d, sum[:]) {
			t.Errorf("ParseIdentity(%q) = %x", s, d)
		}
	}
	if d, err := index.ParseIdentity("900150983cd24fb0d6963f7d28e17f72"); err != nil || len(d) != 16 {
		t.Errorf("MD5 form: %x, %v", d, err)
	}
	for _, bad := range []string{"", "Q1", "Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0", "X1zz", "Q2qZk+NkcGgWq6PiVxeFDCbJzQ2J0="} {
		if _, err := index.ParseIdentity(bad); !errors.Is(err, index.ErrBadIdentity) {
			t.Errorf("ParseIdentity(%q): %v, want ErrBadIdentity", bad, err)
		}
	}
}

func TestSort(t *testing.T) {
	t.Parallel()
	names := func(recs []*index.Record) []string {
		var s []string
		for _, r := range recs {
			s = append(s, r.Name+"-"+r.Version)
		}
		return s
	}
	recs := []*index.Record{
		{Name: "zlib", Version: "1.2.13-r0"},
		{Name: "Abc", Version: "1-r0"},
		{Name: "abc", Version: "1-r0"},
		{Name: "a", Version: "10-r0"},
		{Name: "a", Version: "9-r0"},
		{Name: "a", Version: "9-r10"},
		{Name: "a", Version: "9-r2"},
		{Name: "B", Version: "1-r0"},
		{Name: "a-b", Version: "1-r0"},
	}
	index.Sort(recs)
	want := []string{"a-9-r0", "a-9-r2", "a-9-r10", "a-10-r0", "a-b-1-r0", "Abc-1-r0", "abc-1-r0", "B-1-r0", "zlib-1.2.13-r0"}
	if diff := cmp.Diff(want, names(recs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRecordHelpers(t *testing.T) {
	t.Parallel()
	r := helloRecord()
	if got := r.FileName(); got != "hello-2.12.1-r0.apk" {
		t.Errorf("FileName = %q", got)
	}
	c := r.Clone()
	c.Provides[0] = "changed"
	if r.Provides[0] != "cmd:hello=2.12.1-r0" {
		t.Error("Clone shares the Provides slice")
	}
	if diff := cmp.Diff(helloRecord(), r.Clone()); diff != "" {
		t.Errorf("Clone (-want +got):\n%s", diff)
	}
}

// FuzzParseText checks that the parser never panics and that whatever it
// accepts is written and read back to the same records.
func FuzzParseText(f *testing.F) {
	f.Add([]byte(helloText))
	f.Add([]byte("P:a\nV:1\nD:x  y\nS:007\nt:0\nx:\n\n"))
	f.Add([]byte("P:a\nV:1\nhello\n"))
	if shared := alpinetest.Lookup(); shared != "" {
		if b, err := os.ReadFile(filepath.Join(shared, "testdata/alpine/alpine-316/APKINDEX.tar.gz")); err == nil {
			if ix, err := index.Read(bytes.NewReader(b)); err == nil && len(ix.Records) > 3 {
				txt, _ := index.AppendText(nil, ix.Records[:3])
				f.Add(txt)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := index.ParseText(data)
		if err != nil {
			return
		}
		out, err := index.AppendText(nil, recs)
		if err != nil {
			// A record read from text may hold an item or value the
			// writer refuses; that is fine as long as it says so.
			return
		}
		again, err := index.ParseText(out)
		if err != nil {
			t.Fatalf("written text does not parse: %v\n%q", err, out)
		}
		out2, err := index.AppendText(nil, again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("text is not stable:\n%q\n%q", out, out2)
		}
	})
}

func TestUnsatisfied(t *testing.T) {
	t.Parallel()
	recs := []*index.Record{
		// apk reads any run of <, >, = and ~ as the operator
		{Name: "a", Version: "1-r0", Depends: []string{"b>=2", "so:libc.musl-x86_64.so.1", "!c", "cmd:x", "/bin/sh", "b~=2", "d=>1", "e=~1"}},
		{Name: "b", Version: "2-r0", Provides: []string{"so:libb.so.1=2"}, Depends: []string{"so:libb.so.1", "so:libc.musl-x86_64.so.1"}},
		{Name: "d", Version: "1-r0", Provides: []string{"cmd:x=1", "e=~1.0"}},
	}
	want := []string{"/bin/sh", "so:libc.musl-x86_64.so.1"}
	if diff := cmp.Diff(want, index.Unsatisfied(recs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// the items are written and read back as they are
	text, err := index.AppendText(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := index.ParseText(text)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if diff := cmp.Diff(recs[i].Depends, back[i].Depends); diff != "" {
			t.Errorf("%s depends (-want +got):\n%s", recs[i].Name, diff)
		}
		if diff := cmp.Diff(recs[i].Provides, back[i].Provides); diff != "" {
			t.Errorf("%s provides (-want +got):\n%s", recs[i].Name, diff)
		}
	}
	if got := index.Unsatisfied(nil); len(got) != 0 {
		t.Errorf("Unsatisfied(nil) = %v", got)
	}
}

func TestParseTextLimits(t *testing.T) {
	t.Parallel()
	many := bytes.Repeat([]byte("P:a\nV:1\n\n"), index.MaxRecords+1)
	if _, err := index.ParseText(many); err == nil || !strings.Contains(err.Error(), "records") {
		t.Errorf("%d records: %v", index.MaxRecords+1, err)
	}
	if recs, err := index.ParseText(many[:len(many)-9]); err != nil || len(recs) != index.MaxRecords {
		t.Errorf("%d records: %d, %v", index.MaxRecords, len(recs), err)
	}
	items := append([]byte("P:a\nV:1\nD:"), bytes.Repeat([]byte("x "), index.MaxItems+1)...)
	if _, err := index.ParseText(items); err == nil || !strings.Contains(err.Error(), "items") {
		t.Errorf("%d items: %v", index.MaxItems+1, err)
	}
}
