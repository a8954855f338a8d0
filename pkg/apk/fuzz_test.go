package apk

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// FuzzRead feeds arbitrary bytes to the package reader and verifier: they
// must never panic, and must stay within their memory limits.
func FuzzRead(f *testing.F) {
	if shared := alpinetest.Lookup(); shared != "" {
		dir := filepath.Join(shared, "testdata", "alpine")
		for _, name := range []string{"test_alpine.apk", "alpine-baselayout-3.2.0-r23.apk"} {
			if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				f.Add(data)
			}
		}
	}
	tree := f.TempDir()
	os.WriteFile(filepath.Join(tree, "hello"), []byte("hello\n"), 0o644)
	os.Symlink("hello", filepath.Join(tree, "hi"))
	var pkg bytes.Buffer
	if _, err := Write(&pkg, &Input{Info: testInfo(), Dir: tree, TempDir: f.TempDir()}); err != nil {
		f.Fatal(err)
	}
	f.Add(pkg.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	kr := &sign.Keyring{}
	// A key read from a file: generating one under fuzzing's coverage
	// instrumentation is very slow.
	key, err := sign.LoadPrivateKey(filepath.Join("..", "sign", "testdata", "pkcs1.rsa"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read(bytes.NewReader(data), &ReadOptions{MaxEntries: 1000, Data: func(f *File, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		}})
		if err == nil && p.Info == nil {
			t.Fatal("no error and no .PKGINFO")
		}
		res := Verify(bytes.NewReader(data), kr, &VerifyOptions{AllowUntrusted: true})
		if (res.Problem == OK) != (res.Err == nil) {
			t.Fatalf("problem %v with error %v", res.Problem, res.Err)
		}
		var out bytes.Buffer
		if err := Resign(&out, bytes.NewReader(data), key, sign.RSA256, epoch); err == nil {
			if _, err := Read(bytes.NewReader(out.Bytes()), &ReadOptions{ControlOnly: true}); err != nil {
				t.Fatalf("re-signed package does not read: %v", err)
			}
		}
	})
}
