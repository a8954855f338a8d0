package install_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apk/apktest"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/sign"
)

const arch = "x86_64"

var (
	keyOnce sync.Once
	key     *sign.PrivateKey
	keyErr  error
)

// testKey is a signing key from pkg/sign's test data.
func testKey(t testing.TB) *sign.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		key, keyErr = sign.LoadPrivateKey(filepath.Join("..", "sign", "testdata", "pkcs1.rsa"), nil)
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return key
}

// testKeyring trusts testKey.
func testKeyring(t testing.TB) *sign.Keyring {
	k := testKey(t)
	kr := &sign.Keyring{}
	kr.Add(k.Name, &k.Key.PublicKey)
	return kr
}

// entry is one file of a test package: content for a regular file, a
// trailing "/" in the path for a directory, "->target" for a symlink.
type entry struct {
	path    string
	mode    os.FileMode
	content string
}

// testPkg describes a package a test builds.
type testPkg struct {
	name, version string
	files         []entry
	scripts       map[string]string // ".post-install" -> text
	triggers      []string
	depends       []string
	// prepare, when set, adds to the staged tree before packaging.
	prepare func(dir string)
	// xattr is a path, an attribute name and value to set.
	xattr []string
	// hostFiles are host files copied in: path in package -> host path.
	hostFiles map[string]string
}

// buildPackage writes p as a signed .apk into dir and returns its record.
func buildPackage(t testing.TB, dir string, p testPkg) *index.Record {
	t.Helper()
	stage := t.TempDir()
	var files []apktest.File
	for _, e := range p.files {
		files = append(files, apktest.File{Path: e.path, Mode: e.mode, Content: e.content})
	}
	apktest.Stage(t, stage, files, p.hostFiles)
	if p.prepare != nil {
		p.prepare(stage)
	}
	if p.xattr != nil {
		if err := unix.Setxattr(filepath.Join(stage, p.xattr[0]), p.xattr[1], []byte(p.xattr[2]), 0); err != nil {
			t.Skipf("extended attributes not supported here: %v", err)
		}
	}
	info := apktest.Info(p.name, p.version, arch)
	info.Depends, info.Triggers = p.depends, p.triggers
	in := &apk.Input{
		Info: info,
		Dir:  stage,
		Key:  testKey(t),
	}
	for _, name := range []string{".pre-install", ".post-install", ".pre-upgrade", ".post-upgrade", ".pre-deinstall", ".post-deinstall", ".trigger"} {
		if s, ok := p.scripts[name]; ok {
			in.Scripts = append(in.Scripts, apk.Script{Name: name, Mode: 0o755, Data: []byte(s)})
		}
	}
	return apktest.WritePackage(t, dir, in)
}

// testRepo writes pkgs and an index signed by the test key into a new
// repository, and opens it.
func testRepo(t testing.TB, pkgs ...testPkg) (*install.Repository, []*index.Record) {
	t.Helper()
	repo := t.TempDir()
	recs := buildRepo(t, repo, testKey(t), pkgs...)
	r, err := install.OpenRepository(context.Background(), repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, recs
}

// buildRepo writes pkgs and a signed index into repo/<arch>.
func buildRepo(t testing.TB, repo string, key *sign.PrivateKey, pkgs ...testPkg) []*index.Record {
	t.Helper()
	dir := filepath.Join(repo, arch)
	var recs []*index.Record
	for _, p := range pkgs {
		recs = append(recs, buildPackage(t, dir, p))
	}
	apktest.WriteIndex(t, dir, key, recs)
	return recs
}

// planOf opens repo and returns the plan for names, in order.
func planOf(t testing.TB, r *install.Repository, names ...string) []install.Package {
	t.Helper()
	var plan []install.Package
	for _, n := range names {
		p := r.Find(n)
		if p == nil {
			t.Fatalf("%s: no package %s", r.URL, n)
		}
		plan = append(plan, *p)
	}
	return plan
}

func buildWithXattr(t *testing.T, repo string, p testPkg, path, name, value string) {
	t.Helper()
	p.xattr = []string{path, name, value}
	buildRepo(t, repo, testKey(t), p)
}
