package install_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// A Solver, which makes the solver's database while it reads the indexes,
// plans what OpenRepository and Solve plan, over real Alpine indexes given
// as two repositories, one of them tagged.
func TestSolverMatchesSolve(t *testing.T) {
	t.Parallel()
	dir := alpinetest.Dir(t)
	ctx := context.Background()
	main := alpineRepo(t, "aarch64", map[string]string{"APKINDEX.tar.gz": filepath.Join(dir, "alpine-317", "APKINDEX.tar.gz")})
	edge := alpineRepo(t, "aarch64", map[string]string{"APKINDEX.tar.gz": filepath.Join(dir, "alpine-316", "APKINDEX.tar.gz")})
	root := filepath.Join(t.TempDir(), "none")
	kr, err := install.Keyring(root, "aarch64", filepath.Join(dir, "keys"), true)
	if err != nil {
		t.Fatal(err)
	}
	f := &install.Fetch{AllowUntrusted: true} // alpine-316 is an x86_64 index
	var repos []*install.Repository
	for _, u := range []string{main, edge} {
		r, err := install.OpenRepository(ctx, u, "aarch64", kr, f)
		if err != nil {
			t.Fatal(err)
		}
		repos = append(repos, r)
	}
	repos[1].Tag = "edge"
	for _, req := range []install.Request{
		{Add: []string{"build-base", "avahi-ui-dev"}},
		{Add: []string{"curl@edge", "busybox"}},
		{Add: []string{"nosuch-package"}},
	} {
		want, werr := install.Solve(root, repos, "aarch64", req)
		s, err := install.NewSolver(root, "aarch64")
		if err != nil {
			t.Fatal(err)
		}
		// BeforeIndex is told of each index before it is read, with about
		// as many records as it holds (it is estimated from the size).
		var told []int
		s.BeforeIndex = func(n int) { told = append(told, n) }
		for i, u := range []string{main, edge} {
			if _, err := s.Open(ctx, u, repos[i].Tag, kr, f); err != nil {
				t.Fatal(err)
			}
			have := len(repos[i].Index.Records)
			if len(told) != i+1 || told[i] < have/2 || told[i] > have*2 {
				t.Errorf("%s: told of %v records, the index has %d", u, told, have)
			}
		}
		if len(s.Repositories()) != 2 || s.Repositories()[1].Tag != "edge" {
			t.Fatalf("repositories %+v", s.Repositories())
		}
		got, gerr := s.Solve(req)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("%v: Solve gives %v, Solver %v", req.Add, werr, gerr)
		}
		if werr == nil {
			if diff := cmp.Diff(want.Lines(), got.Lines()); diff != "" {
				t.Errorf("%v: plans differ (-Solve +Solver):\n%s", req.Add, diff)
			}
		}
		if _, err := s.Solve(req); err == nil {
			t.Error("a Solver solved twice")
		}
	}
}

// A repository that fails to open leaves the Solver failed: the records
// read before the failure are in its database.
func TestSolverFailedOpen(t *testing.T) {
	t.Parallel()
	dir := alpinetest.Dir(t)
	ctx := context.Background()
	repo := alpineRepo(t, "aarch64", map[string]string{"APKINDEX.tar.gz": filepath.Join(dir, "alpine-317", "APKINDEX.tar.gz")})
	s, err := install.NewSolver(filepath.Join(t.TempDir(), "none"), "aarch64")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, repo, "", &sign.Keyring{}, nil); !errors.Is(err, sign.ErrUntrusted) {
		t.Fatalf("untrusted index: %v", err)
	}
	kr, err := install.Keyring("", "aarch64", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, repo, "", kr, nil); !errors.Is(err, sign.ErrUntrusted) {
		t.Errorf("open after a failure: %v", err)
	}
	if _, err := s.Solve(install.Request{Add: []string{"busybox"}}); !errors.Is(err, sign.ErrUntrusted) {
		t.Errorf("solve after a failure: %v", err)
	}
}

// A cached root solved with a Solver is the root solved without one: the
// same packages, so the same key and directory.
func TestEnsureRootWithSolver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	buildRepo(t, repo, testKey(t),
		testPkg{name: "tool", version: "1.0-r0", depends: []string{"lib"}, files: []entry{{path: "usr/bin/tool", mode: 0o755, content: "tool"}}},
		testPkg{name: "lib", version: "1.0-r0", files: []entry{{path: "usr/lib/lib.so", content: "lib"}}},
	)
	r, err := install.OpenRepository(ctx, repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(tmp, "roots")
	opts := install.Options{Arch: arch, NoScripts: true}
	want, err := install.EnsureRoot(ctx, &install.CachedRoot{Cache: cache, Repositories: []*install.Repository{r}, World: []string{"tool"}, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	s, err := install.NewSolver("", arch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, repo, "", testKeyring(t), nil); err != nil {
		t.Fatal(err)
	}
	got, err := install.EnsureRoot(ctx, &install.CachedRoot{Cache: cache, Repositories: s.Repositories(), Solver: s, World: []string{"tool"}, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("root %s, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(got, "usr/lib/lib.so")); err != nil {
		t.Error(err)
	}
}
