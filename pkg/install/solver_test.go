package install_test

import (
	"context"
	"errors"
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
		for i, u := range []string{main, edge} {
			if _, err := s.Open(ctx, u, repos[i].Tag, kr, f); err != nil {
				t.Fatal(err)
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
