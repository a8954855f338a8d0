package apk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// craft builds a package by hand, so that a test can make one the writer
// refuses to: the signature member (signed with the test key when sign is
// set) holds sigTail after its entry, the control member holds pkginfo
// (with the right datahash appended) and then ctlTail, and the data
// member holds one file.
type craft struct {
	pkginfo  string
	sign     bool
	sigTail  []byte // bytes after the signature entry (end-of-archive blocks)
	ctlTail  []byte // bytes after the .PKGINFO entry
	dataTail []byte // bytes after the data's end-of-archive blocks
	empty    bool   // a data segment without entries
}

func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func (c craft) build(t testing.TB) []byte {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	if !c.empty {
		tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
		tw.WriteHeader(&tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 6,
			PAXRecords: map[string]string{ChecksumKey: "f572d396fae9206628714fb2ce00f72e94f2258f"}})
		tw.Write([]byte("hello\n"))
	}
	tw.Close()
	raw.Write(c.dataTail)
	data := gzipBytes(raw.Bytes())
	sum := sha256.Sum256(data)
	info := c.pkginfo + "datahash = " + hex.EncodeToString(sum[:]) + "\n"

	raw.Reset()
	tw = tar.NewWriter(&raw)
	if err := tw.WriteHeader(&tar.Header{Name: ".PKGINFO", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(info)), Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(info))
	tw.Flush() // no end-of-archive blocks, as abuild-tar --cut
	raw.Write(c.ctlTail)
	ctl := gzipBytes(raw.Bytes())

	var pkg bytes.Buffer
	if c.sign {
		sig, err := newTestKey(t).SignBytes(sign.RSA256, ctl)
		if err != nil {
			t.Fatal(err)
		}
		var sm bytes.Buffer
		if err := sign.WriteSignatureMember(&sm, []sign.Signature{sig}, epoch); err != nil {
			t.Fatal(err)
		}
		pkg.Write(rezip(t, sm.Bytes(), func(b []byte) []byte { return append(b, c.sigTail...) }))
	}
	pkg.Write(ctl)
	pkg.Write(data)
	return pkg.Bytes()
}

const smallPkgInfo = "pkgname = hello\npkgver = 1.0-r0\narch = noarch\n"

func TestPkgInfoLineLimit(t *testing.T) {
	t.Parallel()
	// The longest pkgdesc apk reads: "pkgdesc = ", the value and the
	// newline fill its buffer exactly.
	maxDesc := MaxLineSize - len("pkgdesc = ") - 1
	// depend items of 99 bytes and a space each on the index line
	// "D:a b ...\n": 1310 of them take 2+1310*100-1+1 = 131002 bytes;
	// 1311 take 131102, one line too long although each .PKGINFO line is
	// short.
	deps := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("so:lib%093d", i))
		}
		return out
	}
	// The longest depend list: one more byte in the last item fills the
	// D: line of the index to MaxLineSize exactly.
	exact := deps(1310)
	exact[len(exact)-1] += strings.Repeat("x", MaxLineSize-(2+1310*100-1+1))
	tests := []struct {
		name  string
		info  PkgInfo
		field string // "" when the package is readable
	}{
		{"longest pkgdesc", PkgInfo{Name: "a", Description: strings.Repeat("d", maxDesc)}, ""},
		{"pkgdesc one byte too long", PkgInfo{Name: "a", Description: strings.Repeat("d", maxDesc+1)}, "pkgdesc"},
		{"200 KB pkgdesc", PkgInfo{Name: "a", Description: strings.Repeat("d", 200_000)}, "pkgdesc"},
		{"long url", PkgInfo{Name: "a", URL: strings.Repeat("u", MaxLineSize)}, "url"},
		{"longest depend line", PkgInfo{Name: "a", Depends: exact}, ""},
		{"depend line one byte too long", PkgInfo{Name: "a", Depends: append(exact[:len(exact)-1:len(exact)-1], exact[len(exact)-1]+"x")}, "depend"},
		{"many depends", PkgInfo{Name: "a", Depends: deps(1000), AutoDepends: deps(400)}, "depend"},
		{"many provides", PkgInfo{Name: "a", AutoProvides: deps(1400)}, "provides"},
		{"long install_if", PkgInfo{Name: "a", InstallIf: deps(1400)}, "install_if"},
		{"long triggers", PkgInfo{Name: "a", Triggers: deps(1400)}, "triggers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text, err := tt.info.MarshalText()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("MarshalText: %v", err)
				}
				if _, err := ParsePkgInfo(bytes.NewReader(text)); err != nil {
					t.Fatalf("ParsePkgInfo: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrLineTooLong) || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("MarshalText: %v, want ErrLineTooLong naming %s", err, tt.field)
			}
			// The same text, written without the check, does not read.
			text = rawPkgInfo(tt.info)
			_, err = ParsePkgInfo(bytes.NewReader(text))
			if !errors.Is(err, ErrLineTooLong) || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("ParsePkgInfo: %v, want ErrLineTooLong naming %s", err, tt.field)
			}
		})
	}
}

// rawPkgInfo writes the .PKGINFO lines of the fields the limit test uses,
// without any check.
func rawPkgInfo(p PkgInfo) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "pkgname = %s\npkgver = 1-r0\npkgdesc = %s\nurl = %s\n", p.Name, p.Description, p.URL)
	for _, d := range p.Depends {
		fmt.Fprintf(&b, "depend = %s\n", d)
	}
	for _, d := range p.InstallIf {
		fmt.Fprintf(&b, "install_if = %s\n", d)
	}
	if len(p.Triggers) > 0 {
		fmt.Fprintf(&b, "triggers = %s\n", strings.Join(p.Triggers, " "))
	}
	b.WriteString(autoMarker + "\n")
	for _, d := range p.AutoProvides {
		fmt.Fprintf(&b, "provides = %s\n", d)
	}
	for _, d := range p.AutoDepends {
		fmt.Fprintf(&b, "depend = %s\n", d)
	}
	return b.Bytes()
}

// TestVerifyLongPkgInfoLine reads a package whose .PKGINFO has a 200 KB
// pkgdesc: apk stops reading .PKGINFO at that line, and an index that
// holds it makes every package of the repository unreadable.
func TestVerifyLongPkgInfoLine(t *testing.T) {
	t.Parallel()
	ok := craft{pkginfo: smallPkgInfo + "pkgdesc = " + strings.Repeat("d", MaxLineSize-len("pkgdesc = ")-1) + "\n", sign: true}.build(t)
	if res := Verify(bytes.NewReader(ok), testKeyring(t), nil); res.Problem != OK {
		t.Fatalf("longest pkgdesc: %v %v", res.Problem, res.Err)
	}
	long := craft{pkginfo: smallPkgInfo + "pkgdesc = " + strings.Repeat("d", 200_000) + "\n", sign: true}.build(t)
	res := Verify(bytes.NewReader(long), testKeyring(t), nil)
	if res.Problem != Malformed || !errors.Is(res.Err, ErrLineTooLong) || !strings.Contains(res.Err.Error(), "pkgdesc") {
		t.Fatalf("200 KB pkgdesc: %v %v, want BAD archive naming pkgdesc", res.Problem, res.Err)
	}
	if _, err := Read(bytes.NewReader(long), &ReadOptions{ControlOnly: true}); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("Read ControlOnly: %v, want ErrLineTooLong", err)
	}
	var many strings.Builder
	many.WriteString(smallPkgInfo)
	for i := range 1400 {
		fmt.Fprintf(&many, "depend = so:lib%094d\n", i)
	}
	res = Verify(bytes.NewReader(craft{pkginfo: many.String()}.build(t)), nil, &VerifyOptions{AllowUntrusted: true})
	if res.Problem != Malformed || !errors.Is(res.Err, ErrLineTooLong) || !strings.Contains(res.Err.Error(), "depend") {
		t.Fatalf("1400 depends: %v %v, want BAD archive naming depend", res.Problem, res.Err)
	}
	_ = io.Discard
}
