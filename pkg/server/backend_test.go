package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/server"
	"github.com/apkit-dev/apkit/pkg/sign"
)

func TestPackageValidator(t *testing.T) {
	alpine := filepath.Join(alpinetest.Shared(t), "testdata", "alpine")
	keys, err := sign.LoadKeyring(filepath.Join(alpine, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	flipped := func(src string, at int) string {
		b, err := os.ReadFile(filepath.Join(alpine, src))
		if err != nil {
			t.Fatal(err)
		}
		if at < 0 {
			at += len(b)
		}
		b[at] ^= 0x01
		p := filepath.Join(tmp, strings.TrimSuffix(src, ".apk")+"-flipped.apk")
		os.WriteFile(p, b, 0o644)
		return p
	}
	truncated := func(src string) string {
		b, _ := os.ReadFile(filepath.Join(alpine, src))
		p := filepath.Join(tmp, "truncated.apk")
		os.WriteFile(p, b[:len(b)/2], 0o644)
		return p
	}
	notPkg := filepath.Join(tmp, "junk.apk")
	os.WriteFile(notPkg, []byte("hello, not a package"), 0o644)

	tests := []struct {
		name string
		v    server.PackageValidator
		path string
		want *server.Package
	}{
		{"trusted", server.PackageValidator{Keys: keys}, filepath.Join(alpine, "test_alpine.apk"), &server.Package{Name: "apache2-ctl", Version: "2.4.43-r0", Arch: "x86_64"}},
		{"trusted aarch64", server.PackageValidator{Keys: keys}, filepath.Join(alpine, "alpine-baselayout-3.2.0-r23.apk"), &server.Package{Name: "alpine-baselayout", Version: "3.2.0-r23", Arch: "aarch64"}},
		{"integrity only", server.PackageValidator{}, filepath.Join(alpine, "test_alpine.apk"), &server.Package{Name: "apache2-ctl", Version: "2.4.43-r0", Arch: "x86_64"}},
		{"untrusted", server.PackageValidator{Keys: &sign.Keyring{}}, filepath.Join(alpine, "test_alpine.apk"), nil},
		{"flipped data byte", server.PackageValidator{}, flipped("test_alpine.apk", -100), nil},
		{"truncated", server.PackageValidator{}, truncated("test_alpine.apk"), nil},
		{"not a package", server.PackageValidator{}, notPkg, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.v.Validate(context.Background(), tc.path)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
