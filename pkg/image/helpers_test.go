package image_test

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apk/apktest"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/sign"
)

const arch = "x86_64"

// file is one entry of a test package: content for a regular file, a
// trailing "/" in the path for a directory, "->target" for a symlink,
// "=>other" for a hard link to another path of the package.
type file struct {
	path    string
	mode    os.FileMode
	content string
	owner   *apk.Owner
}

type pkg struct {
	name, version string
	files         []file
	// host maps a path in the package to a host file copied in (0755).
	host map[string]string
}

func testKey(t testing.TB) *sign.PrivateKey {
	t.Helper()
	k, err := sign.LoadPrivateKey(filepath.Join("..", "sign", "testdata", "pkcs1.rsa"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writePackage writes p as a signed .apk into dir and returns its record.
func writePackage(t testing.TB, dir string, key *sign.PrivateKey, p pkg) *index.Record {
	t.Helper()
	stage := t.TempDir()
	owners := map[string]apk.Owner{}
	var files []apktest.File
	for _, e := range p.files {
		if e.owner != nil {
			owners[strings.TrimSuffix(e.path, "/")] = *e.owner
		}
		files = append(files, apktest.File{Path: e.path, Mode: e.mode, Content: e.content})
	}
	apktest.Stage(t, stage, files, p.host)
	info := apktest.Info(p.name, p.version, arch)
	info.Commit = "0123456789abcdef0123456789abcdef01234567"
	in := &apk.Input{
		Info: info,
		Dir:  stage,
		Key:  key,
		Owner: func(path string, uid, gid int) (apk.Owner, error) {
			if o, ok := owners[path]; ok {
				return o, nil
			}
			return apk.RootOwner, nil
		},
	}
	return apktest.WritePackage(t, dir, in)
}

// installRoot writes pkgs into a signed repository and installs them, in
// order, into a new root, the world naming world. It returns the root.
func installRoot(t testing.TB, world []string, pkgs ...pkg) string {
	t.Helper()
	key := testKey(t)
	repo := filepath.Join(t.TempDir(), "repo")
	dir := filepath.Join(repo, arch)
	var recs []*index.Record
	for _, p := range pkgs {
		recs = append(recs, writePackage(t, dir, key, p))
	}
	apktest.WriteIndex(t, dir, key, recs)
	kr := &sign.Keyring{}
	kr.Add(key.Name, &key.Key.PublicKey)
	ctx := context.Background()
	r, err := install.OpenRepository(ctx, repo, arch, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	var plan []install.Package
	for _, p := range pkgs {
		plan = append(plan, *r.Find(p.name))
	}
	root := filepath.Join(t.TempDir(), "root")
	if _, err := install.Install(ctx, root, plan, &install.Options{
		Arch:         arch,
		World:        world,
		Repositories: []string{"https://packages.example.com/main"},
		NoScripts:    true,
	}); err != nil {
		t.Fatal(err)
	}
	return root
}

// requireTool returns the path of a program the test needs: without it
// the test skips, or fails when the environment variable CI is set (CI
// installs it).
func requireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (Debian package %s): %v", name, pkg, err)
		}
		t.Skipf("%s is not installed (install the Debian package %s to run this test)", name, pkg)
	}
	return p
}

// staticBusybox returns the path of a statically linked busybox.
func staticBusybox(t testing.TB) string {
	t.Helper()
	p := requireTool(t, "busybox", "busybox-static")
	f, err := elf.Open(p)
	if err == nil {
		defer f.Close()
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				err = os.ErrNotExist
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("a static busybox is required in CI (Debian package busybox-static): %s: %v", p, err)
		}
		t.Skipf("%s is not statically linked (install busybox-static to run this test)", p)
	}
	return p
}

// run runs a command and returns its standard output, failing the test
// with its standard error on failure.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}
