package apkbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"mvdan.cc/sh/v3/syntax"
)

// These tests compare the evaluator with busybox ash over a tree of real
// recipes (an aports checkout). They run only when APKIT_APORTS names such
// a tree:
//
//	APKIT_APORTS=/path/to/aports go test ./pkg/apkbuild -run Aports -v
//	APKIT_APORTS=/path/to/aports APKIT_APORTS_ARCH=armv7 go test ./pkg/apkbuild -run Aports -v
//	APKIT_APORTS=/path/to/aports go test ./pkg/apkbuild -run '^$' -bench Tree -benchtime 1x

// findRecipes returns every APKBUILD under root, sorted.
func findRecipes(tb testing.TB, root string) []string {
	tb.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "APKBUILD" {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

// recipeTree returns the aports tree to test against, or skips.
func recipeTree(tb testing.TB) string {
	tb.Helper()
	tree := os.Getenv("APKIT_APORTS")
	if tree == "" {
		tb.Skip("APKIT_APORTS is not set: no recipe tree to compare against")
	}
	return tree
}

// ashScript sources a recipe the way abuild does (after defining the same
// helper functions the evaluator provides) and prints every specification
// variable as name=value, NUL-terminated.
var ashScript = "set -e\ncd \"$startdir\"\n" + preambleSrc + `
. "$APKBUILD"
builddir=${builddir:-"$srcdir/$pkgname-$pkgver"}
for _apkit_v in ` + strings.Join(Variables, " ") + `; do
	eval "printf '%s=%s\0' \"\$_apkit_v\" \"\${$_apkit_v}\""
done
`

// conformanceArch is the CARCH the conformance test reads recipes for:
// APKIT_APORTS_ARCH, default x86_64.
func conformanceArch() string {
	if a := os.Getenv("APKIT_APORTS_ARCH"); a != "" {
		return a
	}
	return "x86_64"
}

// ashVars evaluates a recipe with busybox ash.
func ashVars(ctx context.Context, busybox, path, arch string) (map[string]string, error) {
	env := Environment(path, arch, nil)
	cmd := exec.CommandContext(ctx, busybox, "ash", "-c", ashScript, "/usr/bin/abuild")
	cmd.Env = envList(env)
	cmd.Dir = filepath.Dir(path)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ash: %v: %s", err, lastLine(stderr.String()))
	}
	vars := map[string]string{}
	for _, rec := range strings.Split(out.String(), "\x00") {
		if name, val, ok := strings.Cut(rec, "="); ok {
			vars[name] = val
		}
	}
	return vars, nil
}

// abuildRefuses are the lint rules whose findings abuild's own validate
// step or packaging refuses too: a recipe they flag is not buildable with
// abuild either, so the conformance test logs them instead of failing.
var abuildRefuses = map[string]bool{"dependency-operator": true}

// refusal reads a recipe the way apkit show and apkit build do and returns
// the recipe with the reason either would refuse it: a read error
// (validation included) or a lint error that stops a build.
func refusal(path, arch string) (*Recipe, error) {
	r, err := Load(path, Options{Arch: arch})
	if err != nil {
		return r, err
	}
	var errs []error
	for _, f := range Lint(r) {
		if f.Severity == SeverityError && !abuildRefuses[f.Rule] {
			errs = append(errs, errors.New(f.String()))
		}
	}
	return r, errors.Join(errs...)
}

// TestRealRecipeForms reads recipes written in forms real aports recipes
// use and that apkit once refused: none may be refused by show or build.
func TestRealRecipeForms(t *testing.T) {
	t.Parallel()
	paths := findRecipes(t, filepath.Join("testdata", "aports"))
	if len(paths) == 0 {
		t.Fatal("no recipes under testdata/aports")
	}
	for _, p := range paths {
		if _, err := refusal(p, "x86_64"); err != nil {
			t.Errorf("%s: refused: %v", p, err)
		}
		// The step bound leaves real recipes a wide margin.
		if _, err := Load(p, Options{Arch: "x86_64", MaxSteps: DefaultMaxSteps / 256}); err != nil {
			t.Errorf("%s: with a 256th of the default steps: %v", p, err)
		}
	}
}

func TestAportsConformance(t *testing.T) {
	tree := recipeTree(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox is not installed")
	}
	paths := findRecipes(t, tree)
	type miss struct{ path, what string }
	var (
		mu     sync.Mutex
		misses []miss
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, 2)
	for _, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			want, werr := ashVars(ctx, busybox, p, conformanceArch())
			r, gerr := refusal(p, conformanceArch())
			var what []string
			switch {
			case werr != nil && gerr != nil:
				// both refuse the recipe
				t.Logf("%s: both refuse it: ash: %v; apkit: %v", p, werr, gerr)
			case werr != nil:
				what = append(what, "ash failed, apkit did not: "+werr.Error())
			case gerr != nil:
				what = append(what, "apkit failed, ash did not: "+gerr.Error())
			default:
				for _, name := range Variables {
					if want[name] != r.Vars[name] {
						what = append(what, fmt.Sprintf("%s: ash %q, apkit %q", name, want[name], r.Vars[name]))
					}
				}
			}
			if len(what) > 0 {
				mu.Lock()
				misses = append(misses, miss{p, strings.Join(what, "; ")})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(misses, func(a, b miss) int { return strings.Compare(a.path, b.path) })
	for _, m := range misses {
		t.Errorf("%s: %s", m.path, m.what)
	}
	t.Logf("%d of %d recipes equal (CARCH=%s)", len(paths)-len(misses), len(paths), conformanceArch())
}

// TestAportsFastPath checks that every recipe of the tree that fastEval
// takes evaluates to exactly what the interpreter gives.
func TestAportsFastPath(t *testing.T) {
	tree := recipeTree(t)
	taken := 0
	paths := findRecipes(t, tree)
	for _, path := range paths {
		src, err := readLimited(path)
		if err != nil {
			t.Fatal(err)
		}
		eval := func(interpOnly bool) (*evalResult, bool, error) {
			p, err := parseShell(src, path)
			if err != nil {
				return nil, false, err
			}
			e := &shellEval{filename: path, dir: filepath.Dir(path), env: Environment(path, conformanceArch(), nil), preamble: true, interpOnly: interpOnly}
			_, _, fast := e.fastEval(context.Background(), time.Now().Add(time.Minute), p, DefaultMaxMemory, DefaultMaxSteps)
			res, err := e.run(context.Background(), p)
			return res, fast, err
		}
		got, fast, gerr := eval(false)
		if !fast {
			continue
		}
		taken++
		want, _, werr := eval(true)
		if (gerr != nil) != (werr != nil) {
			t.Errorf("%s: fast path error %v, interpreter error %v", path, gerr, werr)
			continue
		}
		if gerr != nil {
			continue
		}
		if diff := cmp.Diff(want.vars, got.vars); diff != "" {
			t.Errorf("%s: variables differ (-interpreter +fast):\n%s", path, diff)
		}
		funcPos := func(funcs map[string]*syntax.Stmt) map[string]string {
			m := map[string]string{}
			for name, body := range funcs {
				if !isHelper(name, body) {
					m[name] = body.Pos().String()
				}
			}
			return m
		}
		if diff := cmp.Diff(funcPos(want.funcs), funcPos(got.funcs)); diff != "" {
			t.Errorf("%s: functions differ (-interpreter +fast):\n%s", path, diff)
		}
		if want.stderr != got.stderr {
			t.Errorf("%s: stderr %q, interpreter %q", path, got.stderr, want.stderr)
		}
	}
	t.Logf("fast path took %d of %d recipes (CARCH=%s)", taken, len(paths), conformanceArch())
}
