package sign

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
)

// FuzzVerifyStream feeds arbitrary bytes to the signed stream reader and
// the re-signer: no panic, bounded memory.
func FuzzVerifyStream(f *testing.F) {
	if shared := alpinetest.Lookup(); shared != "" {
		dir := filepath.Join(shared, "testdata", "alpine")
		for _, name := range []string{"test_alpine.apk", "alpine-baselayout-3.2.0-r23.apk"} {
			if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				f.Add(data)
			}
		}
	}
	key, err := LoadPrivateKey(filepath.Join("testdata", "pkcs1.rsa"), nil)
	if err != nil {
		f.Fatal(err)
	}
	sig, _ := key.SignBytes(RSA256, []byte("x"))
	var b bytes.Buffer
	WriteSignatureMember(&b, []Signature{sig}, time.Unix(0, 0))
	f.Add(b.Bytes())
	f.Add([]byte{})
	kr := &Keyring{}
	kr.Add(key.Name, &key.Key.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := VerifyStream(bytes.NewReader(data), kr, func(r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if err == nil && (res == nil || res.Used < 0) {
			t.Fatal("verified without a signature")
		}
		var out bytes.Buffer
		if err := ReplaceSignature(&out, bytes.NewReader(data), key, RSA256, time.Unix(0, 0)); err == nil {
			if _, err := VerifyStream(bytes.NewReader(out.Bytes()), kr, nil); err != nil {
				t.Fatalf("re-signed stream does not verify: %v", err)
			}
		}
	})
}
