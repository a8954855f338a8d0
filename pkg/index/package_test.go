package index_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
)

// TestFromPackage indexes the real Alpine packages: C:, S: and I: are the
// values apk index gives (testdata/alpine/README.md), the rest comes from
// their .PKGINFO in apk's field order; D: holds the declared depends, then
// the detected ones, as in the record of the x86_64 build of
// alpine-baselayout-3.2.0-r23 in the real v3.16 index.
func TestFromPackage(t *testing.T) {
	shared := alpinetest.Shared(t)
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

// apkIndexText is what apk index 2.14.10 wrote for five packages made by
// pkg/apk with the metadata of TestFromPackageLikeApk (SOURCE_DATE_EPOCH
// 1700000000): bare A:, o: and c: lines for empty values, D: and p: with
// the declared items before the detected ones, records by name without
// case, then by version.
const apkIndexText = `C:Q1CjUlPbyKyFIyR4oskMuzIb4xPyU=
P:a
V:0.9-r9
A:x86_64
S:908
I:2
T:old a
U:u
L:MIT
o:a
t:1
c:

C:Q1KjDhX4qFbxwBpaZ7wlIuWr8q2rg=
P:a
V:0.9-r10
A:x86_64
S:906
I:2
T:old a
U:u
L:MIT
o:a
t:1
c:

C:Q1lXch+DshVwIOskxOipUXSMnf/FI=
P:a
V:1.0-r0
A:x86_64
S:901
I:2
T:d
U:u
L:MIT
o:a
t:1
c:

C:Q1BlK8BGeMfecQUimDlq1/DD8x7qA=
P:B-upper
V:2.0_rc1-r3
A:noarch
S:1100
I:2
T:  spaced  
U:
L:GPL-2.0-or-later OR MIT
o:
m:M <m@x>
c:
k:100
D:a>=1.0 !conflict so:libc.musl-x86_64.so.1 /bin/sh
p:cmd:x=2.0_rc1-r3 virt so:libb.so.1=1
i:a=1.0-r0 docs

C:Q1fXuh2/Xkq6N2OjJ/CORI0gLrSIM=
P:c
V:0.1-r0
A:x86_64
S:703
I:0
T:
U:
L:
o:
c:deadbeef-dirty
D:a~1 B-upper<3

`

// TestFromPackageLikeApk builds records from .PKGINFO metadata (with the
// control digests and file sizes of the packages apk indexed) and sorts
// them: the text is apk index's, byte for byte.
func TestFromPackageLikeApk(t *testing.T) {
	t.Parallel()
	type pkg struct {
		info apk.PkgInfo
		id   string
		size int64
	}
	pkgs := []pkg{
		{apk.PkgInfo{Name: "c", Version: "0.1-r0", Arch: "x86_64", Commit: "deadbeef-dirty", Size: 0,
			Depends: []string{"a~1", "B-upper<3"}}, "Q1fXuh2/Xkq6N2OjJ/CORI0gLrSIM=", 703},
		{apk.PkgInfo{Name: "B-upper", Version: "2.0_rc1-r3", Arch: "noarch", License: "GPL-2.0-or-later OR MIT", Description: "  spaced  ",
			Size: 2, Maintainer: "M <m@x>", ProviderPriority: 100, ReplacesPriority: 5, Replaces: []string{"old"}, Triggers: []string{"/usr/share/x/*"},
			Depends: []string{"a>=1.0", "!conflict", "so:libc.musl-x86_64.so.1"}, Provides: []string{"cmd:x=2.0_rc1-r3", "virt"},
			InstallIf: []string{"a=1.0-r0", "docs"}, AutoDepends: []string{"/bin/sh"}, AutoProvides: []string{"so:libb.so.1=1"}},
			"Q1BlK8BGeMfecQUimDlq1/DD8x7qA=", 1100},
		{apk.PkgInfo{Name: "a", Version: "1.0-r0", Arch: "x86_64", License: "MIT", Description: "d", URL: "u", BuildDate: 1, Origin: "a", Size: 2},
			"Q1lXch+DshVwIOskxOipUXSMnf/FI=", 901},
		{apk.PkgInfo{Name: "a", Version: "0.9-r10", Arch: "x86_64", License: "MIT", Description: "old a", URL: "u", BuildDate: 1, Origin: "a", Size: 2},
			"Q1KjDhX4qFbxwBpaZ7wlIuWr8q2rg=", 906},
		{apk.PkgInfo{Name: "a", Version: "0.9-r9", Arch: "x86_64", License: "MIT", Description: "old a", URL: "u", BuildDate: 1, Origin: "a", Size: 2},
			"Q1CjUlPbyKyFIyR4oskMuzIb4xPyU=", 908},
	}
	var recs []*index.Record
	for _, p := range pkgs {
		sum, err := index.ParseIdentity(p.id)
		if err != nil {
			t.Fatal(err)
		}
		ap := &apk.Package{Info: &p.info}
		copy(ap.ControlSHA1[:], sum)
		recs = append(recs, index.FromPackage(ap, p.size))
	}
	index.Sort(recs)
	got, err := index.AppendText(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(apkIndexText, string(got)); diff != "" {
		t.Errorf("(-apk +apkit):\n%s", diff)
	}
	// And the text reads back to the same records, bare lines included.
	back, err := index.ParseText(got)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := index.AppendText(nil, back)
	if !bytes.Equal(got, again) {
		t.Errorf("round trip changed the text:\n%s", again)
	}
}
