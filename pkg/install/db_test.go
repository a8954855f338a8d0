package install_test

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/install"
)

// scripts.tar is a tar any reader takes, with apk's header layout.
func TestWriteScripts(t *testing.T) {
	t.Parallel()
	pkgs := []*install.Installed{{
		Record: &index.Record{Name: "a", Version: "1-r0", Checksum: "Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=", BuildTime: 1662926906},
		Scripts: []apk.Script{
			{Name: ".post-install", Data: []byte("#!/bin/sh\necho post\n")},
			{Name: ".pre-install", Data: []byte("#!/bin/sh\n")},
			{Name: ".notascript", Data: []byte("x")},
		},
	}}
	var buf bytes.Buffer
	if err := install.WriteScripts(&buf, pkgs); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	if got := string(raw[124:136]); got != "000000000012" { // 10 bytes, 12 digits, no NUL
		t.Errorf("size field %q", got)
	}
	if got := string(raw[257:265]); got != "ustar  \x00" {
		t.Errorf("magic %q", got)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if h.Mode != 0o755 || h.Uname != "root" || h.ModTime.Unix() != 1662926906 {
			t.Errorf("%s: mode %o owner %s time %v", h.Name, h.Mode, h.Uname, h.ModTime)
		}
		got = append(got, h.Name+"="+string(data))
	}
	want := []string{
		"a-1-r0.Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=.pre-install=#!/bin/sh\n",
		"a-1-r0.Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=.post-install=#!/bin/sh\necho post\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

// An installed file as apk writes it reads back and writes out the same.
func TestInstalledRoundTrip(t *testing.T) {
	t.Parallel()
	text := `C:Q1LLq2qDNrS/qRnhxQ3hsY/sHbQnc=
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
r:alpine-baselayout-old
q:10
f:fs
F:etc
R:motd
Z:Q1SLkS9hBidUK9h6hHO4x0BAvR/lM=
F:etc/crontabs
R:root
a:0:0:600
Z:Q1vfk1apUWI4yLJGhhNRd0kJixfvY=
F:tmp
M:0:0:1777
F:var/run
R:x
a:0:0:777:Q1kIbZOTYwmiRBX9e+i4RXNn8jlGA=

C:Q1MMRN4Hsck311jEm7UhXLcpcMVyg=
P:apache2-ctl
V:2.4.43-r0
A:x86_64
S:2874
I:16384
T:desc
U:
L:
F:usr

`
	pkgs, err := install.ReadInstalled(bytes.NewReader([]byte(text)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || pkgs[0].ReplacesPriority != 10 || pkgs[0].Broken != "fs" || len(pkgs[0].Dirs) != 4 {
		t.Fatalf("read %+v", pkgs[0])
	}
	if d := pkgs[0].Dirs[2]; d.ACL != (install.ACL{Mode: 0o1777}) {
		t.Errorf("tmp: %+v", d)
	}
	var buf bytes.Buffer
	if err := install.WriteInstalled(&buf, pkgs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(text, buf.String()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := install.ReadInstalled(bytes.NewReader([]byte("P:x\nV:1\nR:orphan\n\n"))); err == nil {
		t.Error("R: before F: accepted")
	}
}
