package index_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
)

// TestFromPackage indexes the real Alpine packages: C:, S: and I: are the
// values apk index gives (testdata/alpine/README.md), the rest comes from
// their .PKGINFO in apk's field order; D: holds the declared depends, then
// the detected ones, as in the record of the x86_64 build of
// alpine-baselayout-3.2.0-r23 in the real v3.16 index.
func TestFromPackage(t *testing.T) {
	shared := sharedDir(t)
	tests := []struct {
		file string
		want string
	}{
		{
			file: "test_alpine.apk",
			want: `C:Q1MMRN4Hsck311jEm7UhXLcpcMVyg=
P:apache2-ctl
V:2.4.43-r0
A:x86_64
S:2874
I:16384
T:Apache control script
U:https://httpd.apache.org/
L:Apache-2.0
o:apache2
m:Kaarle Ritvanen <kaarle.ritvanen@datakunkku.fi>
t:1585768977
c:d6095f7dc165058ba032d27622224dc4ed2a78cc
D:lynx
p:cmd:apachectl

`,
		},
		{
			file: "alpine-baselayout-3.2.0-r23.apk",
			want: `C:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=
P:alpine-baselayout
V:3.2.0-r23
A:aarch64
S:11012
I:339968
T:Alpine base dir structure and init scripts
U:https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout
L:GPL-2.0-only
o:alpine-baselayout
m:Natanael Copa <ncopa@alpinelinux.org>
t:1662926906
c:348653a9ba0701e8e968b3344e72313a9ef334e4
D:alpine-baselayout-data=3.2.0-r23 /bin/sh so:libc.musl-aarch64.so.1
p:cmd:mkmntdirs=3.2.0-r23

`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(shared, "testdata/alpine", tt.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			res := apk.Verify(f, nil, &apk.VerifyOptions{AllowUntrusted: true})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			rec := index.FromPackage(res.Package, st.Size())
			got, err := rec.AppendText(nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
