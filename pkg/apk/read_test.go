package apk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/sign"
)

func alpineKeyring(t testing.TB) *sign.Keyring {
	t.Helper()
	kr, err := sign.LoadKeyring(filepath.Join(alpinetest.Dir(t), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// splitMembers returns the raw gzip members of a package.
func splitMembers(t testing.TB, data []byte) [][]byte {
	t.Helper()
	m := sign.NewMemberReader(bytes.NewReader(data))
	var out [][]byte
	for {
		c, err := m.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, c); err != nil {
			t.Fatal(err)
		}
		out = append(out, data[m.Start():m.End()])
	}
}

// rezip rewrites a member's decompressed content with edit.
func rezip(t testing.TB, member []byte, edit func([]byte) []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(member))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(edit(bytes.Clone(raw)))
	zw.Close()
	return b.Bytes()
}

var realPackages = []struct {
	file, name, version, id, datahash, key string
	size                                   int64
	installed                              uint64
	files                                  int
	scripts                                []string
}{
	{
		file: "test_alpine.apk", name: "apache2-ctl", version: "2.4.43-r0",
		id:       "Q1MMRN4Hsck311jEm7UhXLcpcMVyg=",
		datahash: "57eeeb3d7f989848d7021487fe831384a14c5cddd3a39a5d1722c685a2615e36",
		key:      "alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub",
		size:     2874, installed: 16384, files: 3,
	},
	{
		file: "alpine-baselayout-3.2.0-r23.apk", name: "alpine-baselayout", version: "3.2.0-r23",
		id:       "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=",
		datahash: "1a3a8e47d2287da6d505d973412cee1ad64bcc17bc5995069e4e932055ecb0c4",
		key:      "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub",
		size:     11012, installed: 339968, files: 83,
		scripts: []string{".pre-install", ".pre-upgrade", ".post-upgrade", ".post-install"},
	},
}

func TestReadRealPackages(t *testing.T) {
	dir := alpinetest.Dir(t)
	kr := alpineKeyring(t)
	for _, tt := range realPackages {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Read(bytes.NewReader(data), nil)
			if err != nil {
				t.Fatal(err)
			}
			var scripts []string
			for _, s := range p.Scripts {
				scripts = append(scripts, s.Name)
			}
			got := []any{p.Info.Name, p.Info.Version, p.ID(), p.Info.DataHash, p.Size, p.Info.Size, len(p.Files), scripts, len(p.Mismatches), len(p.Unchecked)}
			want := []any{tt.name, tt.version, tt.id, tt.datahash, tt.size, tt.installed, tt.files, tt.scripts, 0, 0}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if p.Signature.Length+p.Control.Length+p.Data.Length != tt.size {
				t.Errorf("segments %+v %+v %+v do not add up", p.Signature, p.Control, p.Data)
			}

			ctl, err := Read(bytes.NewReader(data), &ReadOptions{ControlOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			if ctl.ID() != tt.id || len(ctl.Files) != 0 {
				t.Errorf("control only: id %s, %d files", ctl.ID(), len(ctl.Files))
			}

			// Control is called once, with the control segment's facts,
			// before the first data entry; its error ends the read.
			var seen *Package
			entries := 0
			_, err = Read(bytes.NewReader(data), &ReadOptions{
				Control: func(c *Package) error {
					if seen != nil || entries != 0 {
						t.Errorf("control: called again or after %d data entries", entries)
					}
					seen = c
					return nil
				},
				Data: func(*File, io.Reader) error { entries++; return nil },
			})
			if err != nil || seen == nil || seen.ID() != tt.id || seen.Info.DataHash != tt.datahash || len(seen.Scripts) != len(tt.scripts) || entries != tt.files {
				t.Errorf("control callback: %v, %+v, %d entries", err, seen, entries)
			}
			stop := errors.New("stop")
			entries = 0
			if _, err := Read(bytes.NewReader(data), &ReadOptions{
				Control: func(*Package) error { return stop },
				Data:    func(*File, io.Reader) error { entries++; return nil },
			}); !errors.Is(err, stop) || entries != 0 {
				t.Errorf("control error: %v after %d entries", err, entries)
			}

			lean, err := Read(bytes.NewReader(data), &ReadOptions{NoFileList: true})
			if err != nil || len(lean.Files) != 0 || lean.ID() != tt.id || lean.DataSHA256 != p.DataSHA256 {
				t.Errorf("no file list: %v, %d files", err, len(lean.Files))
			}

			res := Verify(bytes.NewReader(data), kr, nil)
			if res.Problem != OK || res.Err != nil || res.Signature == nil || res.Signature.KeyName != tt.key {
				t.Errorf("trusted: %v %v %v", res.Problem, res.Err, res.Signature)
			}
			if res := Verify(bytes.NewReader(data), nil, nil); res.Problem != Untrusted || !errors.Is(res.Err, sign.ErrUntrusted) {
				t.Errorf("no keys: %v %v", res.Problem, res.Err)
			}
			if res := Verify(bytes.NewReader(data), nil, &VerifyOptions{AllowUntrusted: true}); res.Problem != OK {
				t.Errorf("no keys, untrusted allowed: %v %v", res.Problem, res.Err)
			}
		})
	}
}

func TestPkgInfoRoundTripReal(t *testing.T) {
	dir := alpinetest.Dir(t)
	for _, tt := range realPackages {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(zr)
			var raw []byte
			for {
				hdr, err := tr.Next()
				if err != nil {
					t.Fatal(err)
				}
				if hdr.Name == ".PKGINFO" {
					raw, _ = io.ReadAll(tr)
					break
				}
			}
			info, err := ParsePkgInfo(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := info.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(raw), string(got)); diff != "" {
				t.Errorf(".PKGINFO round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyTampered(t *testing.T) {
	dir := alpinetest.Dir(t)
	kr := alpineKeyring(t)
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	apache := read("test_alpine.apk")
	base := read("alpine-baselayout-3.2.0-r23.apk")
	am := splitMembers(t, apache)
	bm := splitMembers(t, base)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 0x01
		return b
	}
	// Flipping a byte of the gzip header's MTIME changes the stored bytes
	// but not the content.
	const mtimeByte = 5

	other, err := sign.GenerateKey(nil, "other@example.com", 2048, epoch)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, _ := other.SignBytes(sign.RSA256, am[1])
	var otherMember bytes.Buffer
	sign.WriteSignatureMember(&otherMember, []sign.Signature{otherSig}, epoch)

	tests := []struct {
		name string
		data []byte
		want Problem
		is   error
		// ctl is the problem found with ControlOnly, which does not
		// read the data segment.
		ctl Problem
	}{
		{"intact", apache, OK, nil, OK},
		{"signature value flipped", join(rezip(t, am[0], func(b []byte) []byte { b[600] ^= 1; return b }), am[1], am[2]), BadSignature, sign.ErrBadSignature, BadSignature},
		{"signature member byte flipped", join(flip(am[0], len(am[0])/2), am[1], am[2]), Malformed, ErrMalformed, Malformed},
		{"control member stored bytes changed", join(am[0], flip(am[1], mtimeByte), am[2]), BadSignature, sign.ErrBadSignature, BadSignature},
		{"control member byte flipped", join(am[0], flip(am[1], len(am[1])/2), am[2]), Malformed, ErrMalformed, Malformed},
		{"data member stored bytes changed", join(am[0], am[1], flip(am[2], mtimeByte)), DataHashMismatch, ErrDataHashMismatch, OK},
		{"data member byte flipped", join(am[0], am[1], flip(am[2], len(am[2])/2)), Malformed, ErrMalformed, OK},
		{"data member swapped", join(am[0], am[1], bm[2]), DataHashMismatch, ErrDataHashMismatch, OK},
		{"PKGINFO edited", join(am[0], rezip(t, am[1], func(b []byte) []byte {
			return bytes.Replace(b, []byte("depend = lynx"), []byte("depend = lynz"), 1)
		}), am[2]), BadSignature, sign.ErrBadSignature, BadSignature},
		{"unsigned", join(am[1], am[2]), Untrusted, sign.ErrUntrusted, Untrusted},
		{"untrusted signature first", join(otherMember.Bytes(), am[0], am[1], am[2]), OK, nil, OK},
		{"truncated in data", apache[:len(apache)-10], Truncated, ErrTruncated, OK},
		{"truncated in control", apache[:len(am[0])+20], Truncated, ErrTruncated, Truncated},
		{"two data members", join(am[0], am[1], am[2], am[2]), Malformed, ErrMalformed, OK},
		{"trailing garbage", join(apache, []byte("junk after the end of it")), Malformed, ErrMalformed, OK},
		{"empty", nil, Truncated, ErrTruncated, Truncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := Verify(bytes.NewReader(tt.data), kr, nil)
			if res.Problem != tt.want {
				t.Fatalf("got %v (%v), want %v", res.Problem, res.Err, tt.want)
			}
			if tt.is != nil && !errors.Is(res.Err, tt.is) {
				t.Errorf("error %v does not wrap %v", res.Err, tt.is)
			}
			res = Verify(bytes.NewReader(tt.data), kr, &VerifyOptions{ControlOnly: true})
			if res.Problem != tt.ctl {
				t.Errorf("control only: got %v (%v), want %v", res.Problem, res.Err, tt.ctl)
			}
		})
	}
}

func TestParsePkgInfo(t *testing.T) {
	t.Parallel()
	in := strings.Join([]string{
		"# Generated by abuild 3.18.0_rc5",
		"pkgname = hello",
		"pkgver = 2.12.1-r0",
		"garbage line",
		"",
		"commit = ",
		"depend = a b",
		"triggers = /x",
		"triggers = /usr/share/* /y",
		"weird = a = b",
		"provider_priority = 10",
		"# automatically detected:",
		"provides = cmd:hello=2.12.1-r0",
		"datahash = ab",
	}, "\n") + "\n"
	got, err := ParsePkgInfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &PkgInfo{
		Header: []string{"Generated by abuild 3.18.0_rc5"},
		Name:   "hello", Version: "2.12.1-r0",
		Depends:          []string{"a", "b"},
		Triggers:         []string{"/usr/share/*", "/y"},
		Extra:            []Field{{"weird", "a = b"}},
		ProviderPriority: 10,
		AutoProvides:     []string{"cmd:hello=2.12.1-r0"},
		DataHash:         "ab",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParsePkgInfo(strings.NewReader("size = many\n")); err == nil {
		t.Error("bad size accepted")
	}
	bad := &PkgInfo{Name: "x\ny"}
	if _, err := bad.MarshalText(); err == nil {
		t.Error("newline in a value accepted")
	}
	_ = crypto.SHA1
}

var epoch = time.Unix(1700000000, 0)

func TestResignRealPackage(t *testing.T) {
	dir := alpinetest.Dir(t)
	key := newTestKey(t)
	data, err := os.ReadFile(filepath.Join(dir, "alpine-baselayout-3.2.0-r23.apk"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Resign(&out, bytes.NewReader(data), key, sign.RSA256, epoch); err != nil {
		t.Fatal(err)
	}
	res := Verify(bytes.NewReader(out.Bytes()), testKeyring(t), nil)
	if res.Problem != OK || res.Signature.KeyName != key.Name {
		t.Fatalf("new key: %v %v", res.Problem, res.Err)
	}
	if res := Verify(bytes.NewReader(out.Bytes()), alpineKeyring(t), nil); res.Problem != OK {
		t.Errorf("the Alpine signature was lost: %v %v", res.Problem, res.Err)
	}
	if res.Package.ID() != "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=" {
		t.Errorf("identity changed: %s", res.Package.ID())
	}
	var again bytes.Buffer
	if err := Resign(&again, bytes.NewReader(out.Bytes()), key, sign.RSA256, epoch); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Error("re-signing with the same key is not idempotent")
	}
	idx, err := os.ReadFile(filepath.Join(dir, "alpine-316", "APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Resign(io.Discard, bytes.NewReader(idx), key, sign.RSA256, epoch); !errors.Is(err, ErrNotPackage) {
		t.Errorf("index: got %v, want ErrNotPackage", err)
	}
}

// TestReadRefusesSparse: a PAX sparse entry may claim any size; reading it
// would produce that many zeros.
func TestReadRefusesSparse(t *testing.T) {
	t.Parallel()
	// archive/tar will not write GNU sparse records: build the blocks.
	var raw bytes.Buffer
	pax := ""
	for _, kv := range []string{"GNU.sparse.major=0", "GNU.sparse.minor=1", "GNU.sparse.numblocks=1", "GNU.sparse.map=0,0", "GNU.sparse.realsize=1000000000000"} {
		rec := " " + kv + "\n"
		n := len(rec) + 2
		if len(strconv.Itoa(n)+rec) != n {
			n++
		}
		pax += strconv.Itoa(n) + rec
	}
	raw.Write(ustarBlock("PaxHeaders/f", 'x', int64(len(pax))))
	raw.WriteString(pax)
	raw.Write(make([]byte, 512-len(pax)%512))
	raw.Write(ustarBlock("f", '0', 0))
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
	if _, err := Read(bytes.NewReader(pkg), nil); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "sparse") {
		t.Fatalf("got %v", err)
	}
}

// ustarBlock returns a ustar header block.
func ustarBlock(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}
