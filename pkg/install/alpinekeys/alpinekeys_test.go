package alpinekeys_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/install/alpinekeys"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// The embedded keys are byte-identical to Alpine's release keys.
func TestFilesMatchRelease(t *testing.T) {
	dir := filepath.Join(alpinetest.Dir(t), "release-keys")
	seen := 0
	for _, arch := range alpinekeys.Arches() {
		files, err := alpinekeys.Files(arch)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("%s: no keys", arch)
		}
		for _, f := range files {
			want, err := os.ReadFile(filepath.Join(dir, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Data, want) {
				t.Errorf("%s: %s differs from Alpine's", arch, f.Name)
			}
			seen++
		}
	}
	if seen < 17 {
		t.Errorf("%d keys checked, want every arch's", seen)
	}
	if _, err := alpinekeys.Files("vax"); err == nil {
		t.Error("keys for an unknown arch")
	}
}

// A real Alpine index verifies with the keys of its arch only.
func TestAddToVerifiesRealIndex(t *testing.T) {
	dir := alpinetest.Dir(t)
	for _, tc := range []struct{ index, arch, other string }{
		{"alpine-316/APKINDEX.tar.gz", "x86_64", "aarch64"},
		{"alpine-317/APKINDEX.tar.gz", "aarch64", "x86_64"},
	} {
		data, err := os.ReadFile(filepath.Join(dir, tc.index))
		if err != nil {
			t.Fatal(err)
		}
		kr := &sign.Keyring{}
		if err := alpinekeys.AddTo(kr, tc.arch); err != nil {
			t.Fatal(err)
		}
		if _, err := index.ReadVerified(bytes.NewReader(data), kr); err != nil {
			t.Errorf("%s with %s keys: %v", tc.index, tc.arch, err)
		}
		kr = &sign.Keyring{}
		if err := alpinekeys.AddTo(kr, tc.other); err != nil {
			t.Fatal(err)
		}
		if _, err := index.ReadVerified(bytes.NewReader(data), kr); err == nil {
			t.Errorf("%s verified with %s keys", tc.index, tc.other)
		}
	}
}
