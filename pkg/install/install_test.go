package install_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/sign"
)

func z(content string) string {
	s := sha1.Sum([]byte(content))
	return "Q1" + base64.StdEncoding.EncodeToString(s[:])
}

var (
	hello = testPkg{name: "hello", version: "1.0-r0", files: []entry{
		{path: "usr/"},
		{path: "usr/bin/"},
		{path: "usr/bin/hello", mode: 0o755, content: "#!/bin/sh\necho hello\n"},
		{path: "usr/bin/hi", content: "->hello"},
		{path: "etc/"},
		{path: "etc/hello.conf", mode: 0o600, content: "greeting=hi\n"},
		{path: "var/"},
		{path: "var/empty/", mode: fs.ModeSticky | 0o777},
	}, depends: []string{"libhello"}}
	libhello = testPkg{name: "libhello", version: "2.1-r3", files: []entry{
		{path: "usr/"},
		{path: "usr/lib/"},
		{path: "usr/lib/libhello.so.2", mode: 0o755, content: "not really a library\n"},
	}}
)

func TestInstallLocal(t *testing.T) {
	t.Parallel()
	r, _ := testRepo(t, hello, libhello)
	ctx := context.Background()
	if r.Signer != testKey(t).Name {
		t.Errorf("signer %q, want %q", r.Signer, testKey(t).Name)
	}
	root := filepath.Join(t.TempDir(), "root")
	var logs []string
	opts := &install.Options{
		Arch:         arch,
		World:        []string{"hello"},
		Repositories: []string{r.URL},
		Keys:         []install.KeyFile{{Name: testKey(t).Name, Data: []byte("public key\n")}},
		NoScripts:    true,
		Log:          func(m string) { logs = append(logs, m) },
	}
	res, err := install.Install(ctx, root, planOf(t, r, "libhello", "hello"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installed) != 2 {
		t.Fatalf("installed %d packages, want 2", len(res.Installed))
	}

	// Files, modes and links.
	for _, c := range []struct {
		path    string
		mode    fs.FileMode
		content string
	}{
		{"usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n"},
		{"etc/hello.conf", 0o600, "greeting=hi\n"},
		{"usr/lib/libhello.so.2", 0o755, "not really a library\n"},
	} {
		full := filepath.Join(root, c.path)
		fi, err := os.Lstat(full)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
		data, _ := os.ReadFile(full)
		if string(data) != c.content {
			t.Errorf("%s: content %q", c.path, data)
		}
	}
	if l, err := os.Readlink(filepath.Join(root, "usr/bin/hi")); err != nil || l != "hello" {
		t.Errorf("usr/bin/hi -> %q, %v", l, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "var/empty")); err != nil || fi.Mode()&fs.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("var/empty: %v %v", fi.Mode(), err)
	}
	if m, _ := filepath.Glob(filepath.Join(root, "*", "*", ".apk.*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}

	// The database read back.
	db, err := install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hello"}, db.World); diff != "" {
		t.Errorf("world (-want +got):\n%s", diff)
	}
	h := db.Find("hello")
	if h == nil || db.Find("libhello") == nil {
		t.Fatalf("database lacks packages: %+v", db.Packages)
	}
	want := []install.Dir{
		{Name: "usr", ACL: install.DefaultDirACL},
		{Name: "usr/bin", ACL: install.DefaultDirACL, Files: []install.DBFile{
			{Name: "hello", ACL: install.ACL{Mode: 0o755}, Checksum: z("#!/bin/sh\necho hello\n")},
			{Name: "hi", ACL: install.ACL{Mode: 0o777}, Checksum: z("hello")},
		}},
		{Name: "etc", ACL: install.DefaultDirACL, Files: []install.DBFile{
			{Name: "hello.conf", ACL: install.ACL{Mode: 0o600}, Checksum: z("greeting=hi\n")},
		}},
		{Name: "var", ACL: install.DefaultDirACL},
		{Name: "var/empty", ACL: install.ACL{Mode: 0o1777}},
	}
	// Sort both by name: the writer's order is the archive's.
	byName := func(a, b install.Dir) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(want, byName)
	got := slices.Clone(h.Dirs)
	slices.SortFunc(got, byName)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hello's files (-want +got):\n%s", diff)
	}
	if h.Record.Version != "1.0-r0" || h.Record.Checksum != r.Find("hello").Record.Checksum {
		t.Errorf("hello record %+v", h.Record)
	}

	// The raw installed file: apk's field order and lines.
	raw, err := os.ReadFile(filepath.Join(root, install.InstalledFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"P:hello\nV:1.0-r0\nA:x86_64\n",
		"D:libhello\nF:etc\n",
		"F:usr\nF:usr/bin\nR:hello\na:0:0:755\nZ:" + z("#!/bin/sh\necho hello\n") + "\nR:hi\na:0:0:777\nZ:",
		"F:var/empty\nM:0:0:1777\n",
	} {
		if !bytes.Contains(raw, []byte(line)) {
			t.Errorf("installed lacks %q:\n%s", line, raw)
		}
	}
	if i, j := bytes.Index(raw, []byte("P:hello\n")), bytes.Index(raw, []byte("P:libhello\n")); i < 0 || j < i {
		t.Errorf("packages not sorted by name:\n%s", raw)
	}
	for name, want := range map[string]string{
		install.ArchFile:                  "x86_64\n",
		install.RepositoriesFile:          r.URL + "\n",
		install.WorldFile:                 "hello\n",
		"etc/apk/keys/" + testKey(t).Name: "public key\n",
	} {
		if data, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(data) != want {
			t.Errorf("%s: %q, %v; want %q", name, data, err, want)
		}
	}

	// A plan naming a package twice installs it once, or is refused when
	// the two differ.
	other := r.Find("hello").Record.Clone()
	other.Version = "1.1-r0"
	other.Checksum = r.Find("libhello").Record.Checksum
	if _, err := install.Install(ctx, t.TempDir(), []install.Package{*r.Find("hello"), {Record: other, Repository: r.URL}}, opts); err == nil || !strings.Contains(err.Error(), "hello twice") {
		t.Errorf("plan with two hellos: err = %v", err)
	}
	twice := t.TempDir()
	if res, err := install.Install(ctx, twice, planOf(t, r, "libhello", "libhello"), opts); err != nil || len(res.Installed) != 1 {
		t.Errorf("plan with libhello twice: %v", err)
	}

	// Installing the same plan again changes nothing.
	res, err = install.Install(ctx, root, planOf(t, r, "libhello", "hello"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Installed) != 0 || len(res.Skipped) != 2 {
		t.Errorf("second install: installed %d, skipped %v", len(res.Installed), res.Skipped)
	}
	raw2, _ := os.ReadFile(filepath.Join(root, install.InstalledFile))
	if !bytes.Equal(raw, raw2) {
		t.Errorf("installed changed on a no-op install:\n%s", raw2)
	}
}

// A package whose control checksum is not the index's is refused, named,
// and leaves nothing claimed.
func TestWrongChecksumRefused(t *testing.T) {
	t.Parallel()
	r, recs := testRepo(t, hello, libhello)
	ctx := context.Background()
	plan := planOf(t, r, "libhello", "hello")
	bad := plan[1].Record.Clone()
	bad.Checksum = recs[1].Checksum // libhello's identity on hello's record
	plan[1].Record = bad
	root := t.TempDir()
	_, err := install.Install(ctx, root, plan, &install.Options{Arch: arch, NoScripts: true})
	if !errors.Is(err, install.ErrIdentityMismatch) || !strings.Contains(err.Error(), "hello-1.0-r0") {
		t.Fatalf("err = %v, want an identity mismatch naming hello-1.0-r0", err)
	}
	// Nothing claimed: the database was not written.
	db, err := install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Packages) != 0 {
		t.Errorf("database claims %d packages after a failed install", len(db.Packages))
	}
	if _, err := os.Lstat(filepath.Join(root, "usr/bin/hello")); err == nil {
		t.Error("hello's files were extracted")
	}
}

// A package whose data does not match its datahash is refused, and its
// files are not left behind.
func TestCorruptDataRefused(t *testing.T) {
	t.Parallel()
	r, _ := testRepo(t, hello)
	ctx := context.Background()
	// Replace the package by one with the same control segment but other
	// data: rebuild with another file content, then splice.
	good := filepath.Join(r.URL, arch, "hello-1.0-r0.apk")
	other := hello
	other.files = slices.Clone(hello.files)
	other.files[2].content = "#!/bin/sh\necho HELLO\n"
	otherDir := t.TempDir()
	buildPackage(t, otherDir, other)
	spliceData(t, good, filepath.Join(otherDir, "hello-1.0-r0.apk"))
	// The record's size is the new file's: only the data is wrong.
	plan := planOf(t, r, "hello")
	plan[0].Record = plan[0].Record.Clone()
	fi, err := os.Stat(good)
	if err != nil {
		t.Fatal(err)
	}
	plan[0].Record.Size = fi.Size()
	root := t.TempDir()
	_, err = install.Install(ctx, root, plan, &install.Options{Arch: arch, NoScripts: true})
	if err == nil || !strings.Contains(err.Error(), "hello-1.0-r0") {
		t.Fatalf("err = %v, want an error naming hello-1.0-r0", err)
	}
	if !errors.Is(err, install.ErrDataMismatch) {
		t.Errorf("err = %v, want a data mismatch", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "usr/bin/hello")); err == nil {
		t.Error("a file of the refused package is in the root")
	}
	if m, _ := filepath.Glob(filepath.Join(root, "usr/bin/.apk.*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// spliceData writes, over dst, dst's signature and control segments
// followed by src's data segment.
func spliceData(t *testing.T, dst, src string) {
	t.Helper()
	a, _ := os.ReadFile(dst)
	b, _ := os.ReadFile(src)
	pa, err := apkRead(a)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := apkRead(b)
	if err != nil {
		t.Fatal(err)
	}
	out := append(slices.Clone(a[:pa.Data.Offset]), b[pb.Data.Offset:]...)
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// An index signed by an unknown key, or with a broken signature, is refused.
func TestIndexSignatureRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := t.TempDir()
	buildRepo(t, repo, testKey(t), libhello)
	_, err := install.OpenRepository(ctx, repo, arch, &sign.Keyring{}, nil)
	if !errors.Is(err, sign.ErrUntrusted) || !strings.Contains(err.Error(), repo) {
		t.Errorf("untrusted: err = %v", err)
	}
	// Flip a byte of the signed part.
	p := filepath.Join(repo, arch, "APKINDEX.tar.gz")
	data, _ := os.ReadFile(p)
	kr := testKeyring(t)
	ix, err := install.OpenRepository(ctx, repo, arch, kr, nil)
	if err != nil || len(ix.Index.Records) != 1 {
		t.Fatalf("good index: %v", err)
	}
	bad := slices.Clone(data)
	bad[len(bad)-12] ^= 0xff // the gzip trailer of the signed member
	os.WriteFile(p, bad, 0o644)
	if _, err := install.OpenRepository(ctx, repo, arch, kr, nil); err == nil {
		t.Error("a modified index was accepted")
	}
}

// Packages come over http with the cache, and offline from the cache.
func TestInstallHTTP(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	buildRepo(t, repo, testKey(t), hello, libhello)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		requests.Add(1)
		http.FileServer(http.Dir(repo)).ServeHTTP(w, req)
	}))
	defer srv.Close()
	ctx := context.Background()
	cache := t.TempDir()
	f := &install.Fetch{Cache: cache, Attempts: 1}
	r, err := install.OpenRepository(ctx, srv.URL, arch, testKeyring(t), f)
	if err != nil {
		t.Fatal(err)
	}
	opts := &install.Options{Arch: arch, Fetch: *f, NoScripts: true, Repositories: []string{srv.URL}}
	if _, err := install.Install(ctx, t.TempDir(), planOf(t, r, "libhello", "hello"), opts); err != nil {
		t.Fatal(err)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3 (index and two packages)", n)
	}
	// Offline: the server is not asked again.
	srv.Close()
	f.Offline = true
	r, err = install.OpenRepository(ctx, srv.URL, arch, testKeyring(t), f)
	if err != nil {
		t.Fatal(err)
	}
	opts.Fetch = *f
	root := t.TempDir()
	if _, err := install.Install(ctx, root, planOf(t, r, "libhello", "hello"), opts); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "usr/bin/hello")); err != nil || !strings.Contains(string(data), "echo hello") {
		t.Errorf("offline install: %q, %v", data, err)
	}
	// A package missing from the cache is an error offline.
	other := t.TempDir()
	buildRepo(t, other, testKey(t), testPkg{name: "extra", version: "1-r0", files: []entry{{path: "x", content: "x"}}})
	srv2 := httptest.NewServer(http.FileServer(http.Dir(other)))
	defer srv2.Close()
	f2 := &install.Fetch{Cache: cache, Attempts: 1}
	r2, err := install.OpenRepository(ctx, srv2.URL, arch, testKeyring(t), f2)
	if err != nil {
		t.Fatal(err)
	}
	opts.Fetch.Offline = true
	if _, err := install.Install(ctx, t.TempDir(), planOf(t, r2, "extra"), opts); err == nil {
		t.Error("offline install of an uncached package succeeded")
	}
}

// An install that stops half-way (a bad package after a good one, or a
// cancelled context) leaves the database as it was: it never claims files
// that are not there.
func TestInterruptedInstallKeepsDatabase(t *testing.T) {
	t.Parallel()
	r, recs := testRepo(t, hello, libhello, testPkg{name: "extra", version: "1-r0", files: []entry{{path: "opt/"}, {path: "opt/extra", content: "e"}}})
	ctx := context.Background()
	root := t.TempDir()
	opts := &install.Options{Arch: arch, NoScripts: true}
	if _, err := install.Install(ctx, root, planOf(t, r, "libhello"), opts); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(root, install.InstalledFile))
	if err != nil {
		t.Fatal(err)
	}
	plan := planOf(t, r, "extra", "hello")
	plan[1].Record = plan[1].Record.Clone()
	plan[1].Record.Checksum = recs[1].Checksum // libhello's
	if _, err := install.Install(ctx, root, plan, opts); !errors.Is(err, install.ErrIdentityMismatch) {
		t.Fatalf("err = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := install.Install(cancelled, root, planOf(t, r, "hello"), opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(root, install.InstalledFile))
	if !bytes.Equal(before, after) {
		t.Errorf("database changed by failed installs:\n%s", after)
	}
	db, err := install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range db.Packages {
		for _, d := range p.Dirs {
			for _, f := range d.Files {
				if _, err := os.Lstat(filepath.Join(root, d.Name, f.Name)); err != nil {
					t.Errorf("database claims %s/%s: %v", d.Name, f.Name, err)
				}
			}
		}
	}
}

// A file another package owns is not overwritten.
func TestConflictRefused(t *testing.T) {
	t.Parallel()
	r, _ := testRepo(t, libhello, testPkg{name: "thief", version: "1-r0", files: []entry{{path: "usr/"}, {path: "usr/lib/"}, {path: "usr/lib/libhello.so.2", content: "mine"}}})
	ctx := context.Background()
	root := t.TempDir()
	_, err := install.Install(ctx, root, planOf(t, r, "libhello", "thief"), &install.Options{Arch: arch, NoScripts: true})
	if !errors.Is(err, install.ErrConflict) || !strings.Contains(err.Error(), "thief-1-r0") || !strings.Contains(err.Error(), "libhello") {
		t.Fatalf("err = %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(root, "usr/lib/libhello.so.2")); string(data) != "not really a library\n" {
		t.Errorf("file overwritten: %q", data)
	}
}

// Extended attributes are set and recorded with apk's checksum of them.
func TestXattrs(t *testing.T) {
	t.Parallel()
	p := testPkg{name: "xa", version: "1-r0", files: []entry{{path: "etc/"}, {path: "etc/xa", content: "x"}}}
	repo := t.TempDir()
	// Stage by hand to set an attribute before packaging.
	buildWithXattr(t, repo, p, "etc/xa", "user.apkit", "yes")
	ctx := context.Background()
	r, err := install.OpenRepository(ctx, repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, err := install.Install(ctx, root, planOf(t, r, "xa"), &install.Options{Arch: arch, NoScripts: true}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := unix.Getxattr(filepath.Join(root, "etc/xa"), "user.apkit", buf)
	if err != nil || string(buf[:n]) != "yes" {
		t.Errorf("xattr on the installed file: %q, %v", buf[:n], err)
	}
	// apk: SHA-1 over be32(len(name)) name be32(len(value)) value.
	h := sha1.New()
	h.Write([]byte{0, 0, 0, 10})
	h.Write([]byte("user.apkit"))
	h.Write([]byte{0, 0, 0, 3})
	h.Write([]byte("yes"))
	want := "a:0:0:644:Q1" + base64.StdEncoding.EncodeToString(h.Sum(nil)) + "\n"
	raw, _ := os.ReadFile(filepath.Join(root, install.InstalledFile))
	if !strings.Contains(string(raw), "R:xa\n"+want) {
		t.Errorf("installed lacks %q:\n%s", want, raw)
	}
}

// Hard links, FIFOs and (as root) device nodes are made as the package
// says; a device node is refused when not root.
func TestSpecialFiles(t *testing.T) {
	t.Parallel()
	stage := func(dir string) {
		os.MkdirAll(filepath.Join(dir, "dev"), 0o755)
		os.WriteFile(filepath.Join(dir, "dev", "file"), []byte("shared"), 0o644)
		if err := os.Link(filepath.Join(dir, "dev", "file"), filepath.Join(dir, "dev", "link")); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mkfifo(filepath.Join(dir, "dev", "fifo"), 0o620); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		os.Chmod(filepath.Join(dir, "dev", "fifo"), 0o620)
		if os.Geteuid() == 0 {
			if err := unix.Mknod(filepath.Join(dir, "dev", "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
		}
	}
	repo := t.TempDir()
	p := testPkg{name: "special", version: "1-r0", prepare: stage}
	buildRepo(t, repo, testKey(t), p)
	ctx := context.Background()
	r, err := install.OpenRepository(ctx, repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if _, err := install.Install(ctx, root, planOf(t, r, "special"), &install.Options{Arch: arch, NoScripts: true}); err != nil {
		t.Fatal(err)
	}
	a, err1 := os.Stat(filepath.Join(root, "dev/file"))
	b, err2 := os.Stat(filepath.Join(root, "dev/link"))
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		t.Errorf("hard link not made: %v %v", err1, err2)
	}
	if fi, err := os.Lstat(filepath.Join(root, "dev/fifo")); err != nil || fi.Mode() != fs.ModeNamedPipe|0o620 {
		t.Errorf("fifo: %v %v", fi.Mode(), err)
	}
	if os.Geteuid() == 0 {
		fi, err := os.Lstat(filepath.Join(root, "dev/null"))
		if err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
			t.Fatalf("dev/null: %v", err)
		}
		if st := fi.Sys().(*syscall.Stat_t); unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
			t.Errorf("dev/null is %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
	}
	db, _ := install.ReadDatabase(root)
	if ip := db.Find("special"); ip == nil {
		t.Error("not in the database")
	} else {
		var link, file string
		for _, f := range ip.Dirs[0].Files {
			switch f.Name {
			case "link":
				link = f.Checksum
			case "file":
				file = f.Checksum
			}
		}
		if link == "" || link != file || file != z("shared") {
			t.Errorf("hard link Z:%q, file Z:%q", link, file)
		}
	}
}
