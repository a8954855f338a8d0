package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/sandbox"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// copyRecipe copies examples/main/<name> into a fresh repository directory
// and returns the recipe's new directory.
func copyRecipe(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", "main", name)
	dst := filepath.Join(t.TempDir(), "aports", "main", name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || e.Name() == "build.log" {
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

func testRunner(t *testing.T) sandbox.Runner {
	t.Helper()
	b := &sandbox.Bwrap{}
	if err := b.Probe(context.Background()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("bubblewrap is required in CI: %v", err)
		}
		t.Logf("bubblewrap is not usable here, building without a sandbox: %v", err)
		return sandbox.Plain{}
	}
	return b
}

func TestPipelineGreet(t *testing.T) {
	for _, cmd := range []string{"cc", "make", "strip", "patch"} {
		if _, err := exec.LookPath(cmd); err != nil {
			if _, bb := exec.LookPath("busybox"); cmd == "patch" && bb == nil {
				continue // default_prepare falls back to busybox patch
			}
			if os.Getenv("CI") != "" {
				t.Fatalf("the greet example needs %s", cmd)
			}
			t.Skipf("the greet example needs %s", cmd)
		}
	}
	dir := copyRecipe(t, "greet")
	var got []*pkgBuild
	writeHook = func(_ context.Context, _ *builder, pkgs []*pkgBuild) ([]Package, error) {
		got = pkgs
		return nil, nil
	}
	defer func() { writeHook = nil }()
	var out bytes.Buffer
	_, err := Build(context.Background(), dir, Options{Runner: testRunner(t), Arch: "x86_64", Jobs: 2, Output: &out, Keep: true, SourceDateEpoch: 1700000000, Key: testKeyFile(t)})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	names := map[string]*pkgBuild{}
	for _, pb := range got {
		names[pb.name] = pb
		t.Logf("%s (%s): %v\n  provides %v\n  depends %v\n  files %v", pb.name, pb.arch, pb.info.Depends, pb.info.AutoProvides, pb.info.AutoDepends, pb.tree.Entries)
	}
	if d := cmp.Diff([]string{"greet", "greet-dev", "greet-doc", "greet-libs"}, []string{got[0].name, got[1].name, got[2].name, got[3].name}); d != "" {
		t.Fatalf("packages (-want +got):\n%s", d)
	}
	if !contains(names["greet"].info.AutoDepends, "so:libgreet.so.1") {
		t.Errorf("greet depends %v, want so:libgreet.so.1", names["greet"].info.AutoDepends)
	}
	if !contains(names["greet-libs"].info.AutoProvides, "so:libgreet.so.1=1.2.0") {
		t.Errorf("greet-libs provides %v", names["greet-libs"].info.AutoProvides)
	}
	if !contains(names["greet-doc"].tree.Entries, "usr/share/man/man1/greet.1.gz") {
		t.Errorf("greet-doc files %v", names["greet-doc"].tree.Entries)
	}
	if d := names["greet-doc"].info; d.Arch != "noarch" || strings.Join(d.InstallIf, " ") != "docs greet=1.2.0-r0" || d.Description != "Greeting library and program (apkit example) (documentation)" {
		t.Errorf("greet-doc info %+v", d)
	}
	if !contains(names["greet-dev"].info.AutoDepends, "greet-libs=1.2.0-r0") && !contains(names["greet-dev"].info.AutoDepends, "pkgconfig") {
		t.Errorf("greet-dev depends %v", names["greet-dev"].info.AutoDepends)
	}
	if !strings.Contains(out.String(), "exclaim.patch") {
		t.Errorf("patch was not applied:\n%s", out.String())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// testKeyFile writes a fresh private key and returns its path.
func testKeyFile(t *testing.T) string {
	t.Helper()
	k, err := sign.GenerateKey(nil, "test@example.org", 2048, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := sign.MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), strings.TrimSuffix(k.Name, ".pub"))
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOneBuildPerRecipe(t *testing.T) {
	dir := copyRecipe(t, "greet-data")
	f, err := os.OpenFile(filepath.Join(dir, "build.log"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = Build(context.Background(), dir, Options{Runner: sandbox.Plain{}, Phases: []Phase{PhaseUnpack}})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
}
