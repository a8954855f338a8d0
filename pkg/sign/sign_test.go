package sign

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
)

var (
	testKeyOnce sync.Once
	testKey     *PrivateKey
)

// newTestKey returns a 2048-bit key shared by the tests of this package.
func newTestKey(t testing.TB) *PrivateKey {
	t.Helper()
	testKeyOnce.Do(func() {
		k, err := GenerateKey(nil, "test@example.com", 2048, time.Unix(0x6748a2b1, 0))
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func TestKeyFileName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, packager, user, want string
	}{
		{"email", "Jane Doe <jane@example.com>", "jd", "jane@example.com-6748a2b1.rsa"},
		{"no email", "Jane Doe", "jd", "jd-6748a2b1.rsa"},
		{"no at", "Jane <jane>", "jd", "jd-6748a2b1.rsa"},
		{"empty", "", "", "-6748a2b1.rsa"},
		{"slash", "", "a/b", "a_b-6748a2b1.rsa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := KeyFileName(KeyID(tt.packager, tt.user), time.Unix(0x6748a2b1, 0))
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGenerateKeyRefusesSmall(t *testing.T) {
	t.Parallel()
	if _, err := GenerateKey(nil, "x", 1024, time.Now()); !errors.Is(err, ErrKeyTooSmall) {
		t.Fatalf("got %v, want ErrKeyTooSmall", err)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	k := newTestKey(t)
	if k.Name != "test@example.com-6748a2b1.rsa.pub" {
		t.Fatalf("name %q", k.Name)
	}
	dir := t.TempDir()
	priv, err := MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(priv, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Fatalf("private key PEM starts %q", priv[:30])
	}
	pub, err := MarshalPublicKey(&k.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pub, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Fatalf("public key PEM starts %q", pub[:30])
	}
	path := filepath.Join(dir, k.PrivateFileName())
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPrivateKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != k.Name || !got.Key.Equal(k.Key) {
		t.Fatalf("loaded %q, a different key", got.Name)
	}
	gotPub, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !gotPub.Equal(&k.Key.PublicKey) {
		t.Fatal("public key differs")
	}
}

func TestEncryptedKey(t *testing.T) {
	old := pbkdf2Iterations
	pbkdf2Iterations = 1000
	defer func() { pbkdf2Iterations = old }()
	k := newTestKey(t)
	enc, err := MarshalEncryptedPrivateKey(k, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	pass := func(p string) func() ([]byte, error) {
		return func() ([]byte, error) { return []byte(p), nil }
	}
	got, err := ParsePrivateKey(enc, pass("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k.Key) {
		t.Fatal("decrypted key differs")
	}
	if _, err := ParsePrivateKey(enc, pass("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: got %v", err)
	}
	if _, err := ParsePrivateKey(enc, nil); !errors.Is(err, ErrNeedPassphrase) {
		t.Fatalf("no passphrase: got %v", err)
	}
}

// The keys in testdata were made by OpenSSL 3:
//
//	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-256-cbc -pass pass:correct-horse -out openssl-aes256.rsa
//	openssl genrsa -traditional -out pkcs1.rsa 2048
//	openssl pkcs8 -topk8 -in pkcs1.rsa -scrypt -passout pass:correct-horse -out scrypt.rsa
func TestLoadOpenSSLKeys(t *testing.T) {
	t.Parallel()
	pass := func() ([]byte, error) { return []byte("correct-horse"), nil }
	pkcs1, err := LoadPrivateKey("testdata/pkcs1.rsa", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		same *PrivateKey
	}{
		{"openssl-aes256.rsa", nil},
		{"scrypt.rsa", pkcs1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			k, err := LoadPrivateKey(filepath.Join("testdata", tt.file), pass)
			if err != nil {
				t.Fatal(err)
			}
			if k.Name != tt.file+".pub" {
				t.Errorf("name %q", k.Name)
			}
			if tt.same != nil && !k.Key.Equal(tt.same.Key) {
				t.Error("key differs from its unencrypted form")
			}
		})
	}
	pubPEM, err := os.ReadFile("testdata/openssl-aes256.rsa.pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	k, err := LoadPrivateKey("testdata/openssl-aes256.rsa", pass)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&k.Key.PublicKey) {
		t.Error("public key does not match the private key")
	}
}

func TestSmallPublicKeyRefused(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/small.rsa.pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKey(data); !errors.Is(err, ErrKeyTooSmall) {
		t.Fatalf("got %v, want ErrKeyTooSmall", err)
	}
}

func TestSignVerify(t *testing.T) {
	k := newTestKey(t)
	msg := []byte("the control segment")
	for _, alg := range []Algorithm{RSA, RSA256, RSA512} {
		t.Run(string(alg), func(t *testing.T) {
			sig, err := k.SignBytes(alg, msg)
			if err != nil {
				t.Fatal(err)
			}
			if sig.EntryName() != ".SIGN."+string(alg)+".test@example.com-6748a2b1.rsa.pub" {
				t.Errorf("entry name %q", sig.EntryName())
			}
			again, _ := k.SignBytes(alg, msg)
			if !bytes.Equal(sig.Value, again.Value) {
				t.Error("signature is not deterministic")
			}
			d := alg.Hash().New()
			d.Write(msg)
			if err := sig.Verify(&k.Key.PublicKey, d.Sum(nil)); err != nil {
				t.Fatal(err)
			}
			d.Write([]byte("x"))
			if err := sig.Verify(&k.Key.PublicKey, d.Sum(nil)); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("tampered: got %v", err)
			}
		})
	}
}

func TestParseEntryName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		alg     Algorithm
		key     string
		ok      bool
		hashLen int
	}{
		{".SIGN.RSA.alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub", RSA, "alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub", true, 20},
		{".SIGN.RSA256.k.rsa.pub", RSA256, "k.rsa.pub", true, 32},
		{".SIGN.RSA512.k.rsa.pub", RSA512, "k.rsa.pub", true, 64},
		{".SIGN.DSA.k.pub", "DSA", "k.pub", true, 0},
		{".PKGINFO", "", "", false, 0},
		{".SIGN.", "", "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			alg, key, ok := ParseEntryName(tt.in)
			if alg != tt.alg || key != tt.key || ok != tt.ok {
				t.Errorf("got %q %q %v", alg, key, ok)
			}
			if n := 0; alg.Hash() != 0 {
				n = alg.Hash().Size()
				if n != tt.hashLen {
					t.Errorf("hash size %d", n)
				}
			}
		})
	}
}

func TestLoadKeyring(t *testing.T) {
	dir := alpinetest.Dir(t)
	junk := t.TempDir()
	os.WriteFile(filepath.Join(junk, "README"), []byte("not a key"), 0o644)
	os.Mkdir(filepath.Join(junk, "sub"), 0o755)
	priv, err := GenerateKey(rand.Reader, "me", MinBits, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(junk, "me-1234.rsa"), privPEM, 0o600)
	kr, err := LoadKeyring(filepath.Join(dir, "keys"), junk, filepath.Join(junk, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub",
		"alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub",
		"alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub",
	}
	if diff := cmp.Diff(want, kr.Names()); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if len(kr.Skipped) != 1 {
		t.Errorf("skipped %q, want the README", kr.Skipped)
	}
	if diff := cmp.Diff([]string{filepath.Join(junk, "me-1234.rsa")}, kr.Private); diff != "" {
		t.Errorf("private key files (-want +got):\n%s", diff)
	}
	if kr.Key(want[0]).N.BitLen() != 2048 || kr.Key(want[1]).N.BitLen() != 4096 {
		t.Error("wrong key sizes")
	}
}

func TestVerifyRealIndexes(t *testing.T) {
	dir := alpinetest.Dir(t)
	alpine, err := LoadKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, key string
		size      int64
	}{
		{"alpine-316/APKINDEX.tar.gz", "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub", 655754},
		{"alpine-317/APKINDEX.tar.gz", "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub", 661049},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var content int64
			res, err := VerifyStream(bytes.NewReader(data), alpine, func(r io.Reader) error {
				n, err := io.Copy(io.Discard, r)
				content += n
				return err
			})
			if err != nil {
				t.Fatalf("trusted: %v", err)
			}
			if got := res.Signatures[res.Used]; got.KeyName != tt.key || got.Algorithm != RSA || len(got.Value) != 512 {
				t.Errorf("signature %s %s %d bytes", got.Algorithm, got.KeyName, len(got.Value))
			}
			if res.Size != tt.size || content == 0 {
				t.Errorf("size %d, content %d", res.Size, content)
			}
			if _, err := VerifyStream(bytes.NewReader(data), &Keyring{}, nil); !errors.Is(err, ErrUntrusted) {
				t.Errorf("no keys: got %v, want ErrUntrusted", err)
			}

			// A flipped byte in the signature is a bad signature; one in the
			// signed member breaks the member or the signature.
			bad := bytes.Clone(data)
			bad[res.SignedOffset-20] ^= 0xff // inside the signature member: gzip CRC
			if _, err := VerifyStream(bytes.NewReader(bad), alpine, nil); err == nil {
				t.Error("flipped byte in the signature member verified")
			}
			bad = bytes.Clone(data)
			bad[res.SignedOffset+3] ^= 0x01 // gzip header flags: still decodes differently or fails
			if _, err := VerifyStream(bytes.NewReader(bad), alpine, nil); err == nil {
				t.Error("flipped byte in the signed member verified")
			}
			bad = bytes.Clone(data)
			bad[res.SignedOffset+4] ^= 0x01 // gzip MTIME: decodes fine, signature must fail
			if _, err := VerifyStream(bytes.NewReader(bad), alpine, nil); !errors.Is(err, ErrBadSignature) {
				t.Errorf("flipped mtime byte: got %v, want ErrBadSignature", err)
			}
			if _, err := VerifyStream(bytes.NewReader(data[:len(data)-100]), alpine, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("truncated: got %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

func TestMemberReaderRealPackage(t *testing.T) {
	dir := alpinetest.Dir(t)
	tests := []struct {
		file    string
		lengths []int64
		id      string
	}{
		{"test_alpine.apk", []int64{407, 498, 1969}, "Q1MMRN4Hsck311jEm7UhXLcpcMVyg="},
		{"alpine-baselayout-3.2.0-r23.apk", []int64{666, 1563, 8783}, "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc="},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m := NewMemberReader(f)
			var lengths []int64
			var id string
			for i := 0; ; i++ {
				c, err := m.Next(crypto.SHA1)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, c); err != nil {
					t.Fatal(err)
				}
				lengths = append(lengths, m.End()-m.Start())
				if i == 1 {
					id = "Q1" + base64.StdEncoding.EncodeToString(m.Sum(crypto.SHA1))
				}
			}
			if diff := cmp.Diff(tt.lengths, lengths); diff != "" {
				t.Errorf("member lengths (-want +got):\n%s", diff)
			}
			if id != tt.id {
				t.Errorf("identity %s, want %s", id, tt.id)
			}
		})
	}
}

func TestReplaceSignature(t *testing.T) {
	dir := alpinetest.Dir(t)
	k := newTestKey(t)
	data, err := os.ReadFile(filepath.Join(dir, "alpine-317", "APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Unix(1700000000, 0)
	var once, twice bytes.Buffer
	if err := ReplaceSignature(&once, bytes.NewReader(data), k, RSA256, mtime); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSignature(&twice, bytes.NewReader(once.Bytes()), k, RSA256, mtime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(once.Bytes(), twice.Bytes()) {
		t.Error("signing twice with the same key is not idempotent")
	}
	mine := &Keyring{}
	mine.Add(k.Name, &k.Key.PublicKey)
	res, err := VerifyStream(bytes.NewReader(once.Bytes()), mine, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Signatures {
		names = append(names, s.EntryName())
	}
	want := []string{".SIGN.RSA256." + k.Name, ".SIGN.RSA.alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("signatures (-want +got):\n%s", diff)
	}
	alpine, err := LoadKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyStream(bytes.NewReader(once.Bytes()), alpine, nil); err != nil {
		t.Errorf("the Alpine signature no longer verifies: %v", err)
	}
	if sha1.Sum(data[len(data)-1000:]) != sha1.Sum(once.Bytes()[once.Len()-1000:]) {
		t.Error("signed bytes changed")
	}
}
