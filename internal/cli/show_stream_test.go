package cli

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
)

// TestEachRecipeWindow checks that results come in argument order and that
// the recipes read but not yet handed on never exceed the window, however
// many paths there are: memory does not grow with the number of paths.
func TestEachRecipeWindow(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 7, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			paths := make([]string, n)
			for i := range paths {
				paths[i] = fmt.Sprint(i)
			}
			var started, handed, most atomic.Int64
			load := func(ctx context.Context, p string) (*apkbuild.Recipe, error) {
				ahead := started.Add(1) - handed.Load()
				for {
					m := most.Load()
					if ahead <= m || most.CompareAndSwap(m, ahead) {
						break
					}
				}
				return &apkbuild.Recipe{Pkgname: p}, nil
			}
			next := 0
			err := eachRecipe(context.Background(), paths, load, func(res loadResult) error {
				if res.path != fmt.Sprint(next) || res.recipe.Pkgname != res.path {
					return fmt.Errorf("result %d is %s", next, res.path)
				}
				next++
				handed.Add(1)
				return nil
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if next != n {
				t.Errorf("%d results, want %d", next, n)
			}
			if bound := int64((loadWindow + 1) * loadWorkers()); most.Load() > bound {
				t.Errorf("%d recipes read ahead, bound %d", most.Load(), bound)
			}
		})
	}
}

// TestEachRecipeStops checks that an error from fn stops the reading.
func TestEachRecipeStops(t *testing.T) {
	t.Parallel()
	paths := make([]string, 10000)
	var loads atomic.Int64
	load := func(ctx context.Context, p string) (*apkbuild.Recipe, error) {
		loads.Add(1)
		return &apkbuild.Recipe{}, nil
	}
	stop := errors.New("stop")
	calls := 0
	err := eachRecipe(context.Background(), paths, load, func(loadResult) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want %v", err, stop)
	}
	if l := loads.Load(); l > int64(3+(loadWindow+1)*loadWorkers()) {
		t.Errorf("%d recipes read after fn stopped at the third", l)
	}
}
