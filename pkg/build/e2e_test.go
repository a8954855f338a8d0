package build_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/build"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sandbox/sandboxtest"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// testKey writes a fresh signing key pair into dir and returns the
// private key's path.
func testKey(t *testing.T, dir string) string {
	t.Helper()
	k, err := sign.GenerateKey(nil, "test@example.org", 2048, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := sign.MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.MarshalPublicKey(&k.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, strings.TrimSuffix(k.Name, ".pub"))
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, k.Name), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyExample copies examples/main/<name> into aports/main/<name> under base.
func copyExample(t *testing.T, base, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "main", name)
	dst := filepath.Join(base, "aports", "main", name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == "build.log" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// snapshot maps every file under dir to the SHA-256 of its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	return out
}

// TestExamplesEndToEnd builds the example recipes in bubblewrap into a
// repository and checks what a user of the repository would see.
func TestExamplesEndToEnd(t *testing.T) {
	runner := sandboxtest.RequireBwrap(t)
	tools := map[string]string{"cc": "gcc", "make": "make", "strip": "binutils"}
	if _, err := exec.LookPath("busybox"); err != nil {
		tools["patch"] = "patch" // default_prepare falls back to busybox patch
	}
	requireTools(t, tools)
	base := t.TempDir()
	keys := filepath.Join(base, "keys")
	key := testKey(t, keys)
	repodest := filepath.Join(base, "packages")
	arch := apkbuild.HostArch()
	opts := build.Options{
		Runner:   runner,
		Arch:     arch,
		Repodest: repodest,
		Srcdest:  filepath.Join(base, "distfiles"),
		Key:      key,
		Packager: "Test <test@example.org>",
		Jobs:     2,
		Offline:  true,
	}
	var logs bytes.Buffer
	opts.Output = &logs
	ctx := context.Background()
	dirs := map[string]string{}
	for _, name := range []string{"greet", "hello-sh", "greet-data", "check-fails"} {
		dirs[name] = copyExample(t, base, name)
	}
	built := map[string]build.Package{}
	for _, name := range []string{"greet", "hello-sh", "greet-data"} {
		res, err := build.Build(ctx, dirs[name], opts)
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, logs.String())
		}
		for _, p := range res.Packages {
			built[p.Name] = p
		}
	}
	var names []string
	for n := range built {
		names = append(names, n)
	}
	sort.Strings(names)
	if d := cmp.Diff([]string{"greet", "greet-data", "greet-dev", "greet-doc", "greet-libs", "hello-sh"}, names); d != "" {
		t.Fatalf("packages built (-want +got):\n%s", d)
	}
	repoDir := filepath.Join(repodest, "main", arch)

	// Every package verifies against the key.
	kr, err := sign.LoadKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		p := built[n]
		if filepath.Dir(p.Path) != repoDir {
			t.Errorf("%s is at %s, want it in %s", n, p.Path, repoDir)
		}
		f, err := os.Open(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		res := apk.Verify(f, kr, nil)
		f.Close()
		if res.Err != nil {
			t.Errorf("verify %s: %v", n, res.Err)
		}
	}

	// The index lists every package with the traced relations.
	r, err := repo.Open(repoDir, repo.Options{Arch: arch})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := r.Index()
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string]struct{ D, P, I []string }{}
	for _, rec := range ix.Records {
		recs[rec.Name] = struct{ D, P, I []string }{rec.Depends, rec.Provides, rec.InstallIf}
	}
	if len(recs) != len(names) {
		t.Errorf("index has %d records, want %d", len(recs), len(names))
	}
	has := func(list []string, item string) bool {
		for _, x := range list {
			if x == item {
				return true
			}
		}
		return false
	}
	checks := []struct {
		pkg, field, item string
	}{
		{"greet", "D", "so:libgreet.so.1"},
		{"greet", "P", "cmd:greet=1.2.0-r0"},
		{"greet-libs", "P", "so:libgreet.so.1=1.2.0"},
		{"greet-dev", "P", "pc:greet=1.2.0"},
		{"greet-dev", "D", "pkgconfig"},
		{"greet-doc", "I", "docs"},
		{"greet-doc", "I", "greet=1.2.0-r0"},
		{"hello-sh", "D", "/bin/sh"},
		{"hello-sh", "P", "cmd:hello-sh=0.3.1-r2"},
	}
	for _, c := range checks {
		rec := recs[c.pkg]
		list := map[string][]string{"D": rec.D, "P": rec.P, "I": rec.I}[c.field]
		if !has(list, c.item) {
			t.Errorf("index %s %s: %v lacks %s", c.pkg, c.field, list, c.item)
		}
	}

	// Install scripts and the trigger are in hello-sh's control segment.
	f, err := os.Open(built["hello-sh"].Path)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := apk.Read(f, nil)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var scripts []string
	for _, s := range pkg.Scripts {
		scripts = append(scripts, s.Name)
	}
	if d := cmp.Diff([]string{".pre-install", ".post-install", ".post-upgrade", ".trigger"}, scripts); d != "" {
		t.Errorf("hello-sh control scripts (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"/usr/share/hello-sh/greetings.d"}, pkg.Info.Triggers); d != "" {
		t.Errorf("hello-sh triggers (-want +got):\n%s", d)
	}

	// A second build gives byte-identical packages.
	before := snapshot(t, repoDir)
	if _, err := build.Build(ctx, dirs["greet"], opts); err != nil {
		t.Fatalf("second build: %v\n%s", err, logs.String())
	}
	if d := cmp.Diff(before, snapshot(t, repoDir)); d != "" {
		t.Errorf("second build changed the repository (-before +after):\n%s", d)
	}

	// A failing check leaves the repository untouched and names the phase.
	_, err = build.Build(ctx, dirs["check-fails"], opts)
	var pe *build.PhaseError
	if !errors.As(err, &pe) || pe.Phase != "check" {
		t.Fatalf("check-fails: err = %v, want a check phase error", err)
	}
	if d := cmp.Diff(before, snapshot(t, repoDir)); d != "" {
		t.Errorf("failed build changed the repository (-before +after):\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(repoDir, "check-fails-1.0-r0.apk")); err == nil {
		t.Error("failed build left a package")
	}
}

// requireTools skips the test when a command the example recipes need is
// missing, or fails it when CI is set; tools maps each command to the
// Debian package that has it.
func requireTools(t *testing.T, tools map[string]string) {
	t.Helper()
	var missing []string
	for cmd, pkg := range tools {
		if _, err := exec.LookPath(cmd); err != nil {
			missing = append(missing, cmd+" (Debian package "+pkg+")")
		}
	}
	if len(missing) == 0 {
		return
	}
	sort.Strings(missing)
	if os.Getenv("CI") != "" {
		t.Fatalf("the example recipes need %s", strings.Join(missing, ", "))
	}
	t.Skipf("the example recipes need %s", strings.Join(missing, ", "))
}
