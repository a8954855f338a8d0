package install_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/resolve"
)

// recordScripts records the scripts it is asked to run, and runs none.
type recordScripts struct {
	mu  sync.Mutex
	ran []string
}

func (r *recordScripts) RunScript(_ context.Context, root, script string, args []string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(filepath.Join(root, script)); err != nil {
		return nil, err
	}
	r.ran = append(r.ran, filepath.Base(script)+" "+strings.Join(args, " "))
	return nil, nil
}

// solveCommit solves req in root against repos and commits the plan.
func solveCommit(t *testing.T, root string, repos []*install.Repository, req install.Request, opts *install.Options) []string {
	t.Helper()
	plan, err := install.Solve(root, repos, arch, req)
	if err != nil {
		t.Fatalf("solve %+v: %v", req, err)
	}
	if _, err := install.Commit(context.Background(), root, plan, repos, opts); err != nil {
		t.Fatalf("commit %+v: %v", req, err)
	}
	return plan.Lines()
}

func TestSolveCommitAddDelUpgrade(t *testing.T) {
	tmp := t.TempDir()
	key := testKey(t)
	ctx := context.Background()
	scripts := map[string]string{}
	for _, s := range []string{".pre-upgrade", ".post-upgrade", ".pre-deinstall", ".post-deinstall"} {
		scripts[s] = "#!/bin/sh\n"
	}
	repo1 := filepath.Join(tmp, "repo1")
	buildRepo(t, repo1, key,
		testPkg{name: "app", version: "1.0-r0", depends: []string{"libfoo"}, scripts: scripts,
			files: []entry{{path: "usr/bin/app", mode: 0o755, content: "v1"}, {path: "usr/share/app/old", content: "old"}}},
		testPkg{name: "libfoo", version: "1.0-r0", files: []entry{{path: "usr/lib/libfoo.so.1", content: "lib"}}},
		testPkg{name: "tool", version: "1.0-r0", files: []entry{{path: "usr/bin/tool", mode: 0o755, content: "tool"}}},
	)
	kr := testKeyring(t)
	r1, err := install.OpenRepository(ctx, repo1, arch, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(tmp, "root")
	rec := &recordScripts{}
	opts := &install.Options{Arch: arch, Scripts: rec}

	lines := solveCommit(t, root, []*install.Repository{r1}, install.Request{Add: []string{"app"}}, opts)
	want := []string{"(1/2) Installing libfoo (1.0-r0)", "(2/2) Installing app (1.0-r0)", "OK: 0 MiB in 2 packages"}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("add app (-want +got):\n%s", diff)
	}
	solveCommit(t, root, []*install.Repository{r1}, install.Request{Add: []string{"tool"}, Virtual: ".tools=1"}, opts)
	db, err := install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{".tools=1", "app"}, db.World); diff != "" {
		t.Errorf("world (-want +got):\n%s", diff)
	}
	if v := db.Find(".tools"); v == nil || len(v.Dirs) != 0 || !slices.Equal(v.Record.Depends, []string{"tool"}) {
		t.Errorf("virtual package in the database: %+v", v)
	}

	// A newer app in a second repository: an upgrade in place.
	repo2 := filepath.Join(tmp, "repo2")
	buildRepo(t, repo2, key,
		testPkg{name: "app", version: "2.0-r0", depends: []string{"libfoo"}, scripts: scripts,
			files: []entry{{path: "usr/bin/app", mode: 0o755, content: "v2"}}})
	r2, err := install.OpenRepository(ctx, repo2, arch, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines = solveCommit(t, root, []*install.Repository{r2, r1}, install.Request{Add: []string{"app>=2"}}, opts)
	if diff := cmp.Diff([]string{"(1/1) Upgrading app (1.0-r0 -> 2.0-r0)", "OK: 0 MiB in 4 packages"}, lines); diff != "" {
		t.Errorf("upgrade (-want +got):\n%s", diff)
	}
	if data, err := os.ReadFile(filepath.Join(root, "usr/bin/app")); err != nil || string(data) != "v2" {
		t.Errorf("usr/bin/app after upgrade: %q, %v", data, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "usr/share/app")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("usr/share/app after upgrade: want it gone, got %v", err)
	}

	// Deleting app removes it and libfoo, which nothing else needs.
	lines = solveCommit(t, root, []*install.Repository{r2, r1}, install.Request{Del: []string{"app", ".tools"}}, opts)
	want = []string{"(1/4) Purging .tools (1)", "(2/4) Purging tool (1.0-r0)", "(3/4) Purging app (2.0-r0)", "(4/4) Purging libfoo (1.0-r0)", "OK: 0 MiB in 0 packages"}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("del (-want +got):\n%s", diff)
	}
	for _, p := range []string{"usr/bin/app", "usr/bin/tool", "usr/lib/libfoo.so.1", "usr/lib", "usr/bin"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after del: want it gone, got %v", p, err)
		}
	}
	db, err = install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Packages) != 0 || len(db.World) != 0 {
		t.Errorf("database after del: %d packages, world %q", len(db.Packages), db.World)
	}
	wantScripts := []string{
		"app-2.0-r0.pre-upgrade 2.0-r0 1.0-r0", "app-2.0-r0.post-upgrade 2.0-r0 1.0-r0",
		"app-2.0-r0.pre-deinstall 2.0-r0", "app-2.0-r0.post-deinstall 2.0-r0",
	}
	if diff := cmp.Diff(wantScripts, rec.ran); diff != "" {
		t.Errorf("scripts (-want +got):\n%s", diff)
	}
}

func TestCommitStalePlan(t *testing.T) {
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	buildRepo(t, repo, testKey(t), testPkg{name: "tool", version: "1.0-r0", files: []entry{{path: "usr/bin/tool", content: "x"}}})
	r, err := install.OpenRepository(context.Background(), repo, arch, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(tmp, "root")
	repos := []*install.Repository{r}
	plan, err := install.Solve(root, repos, arch, install.Request{Add: []string{"tool"}})
	if err != nil {
		t.Fatal(err)
	}
	opts := &install.Options{Arch: arch}
	if _, err := install.Commit(context.Background(), root, plan, repos, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := install.Commit(context.Background(), root, plan, repos, opts); !errors.Is(err, install.ErrStale) {
		t.Errorf("second commit of one plan: got %v, want ErrStale", err)
	}
	_, err = install.Solve(root, repos, arch, install.Request{Add: []string{"nosuch"}})
	var uerr *resolve.UnsatisfiableError
	if !errors.As(err, &uerr) || !strings.Contains(uerr.Report, "nosuch (no such package)") {
		t.Errorf("unsatisfiable request: got %v", err)
	}
}
