package apkbuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchRecipes returns the recipes to benchmark: the aports tree named by
// APKIT_APORTS, else the test recipes.
func benchRecipes(b *testing.B) []string {
	b.Helper()
	if tree := os.Getenv("APKIT_APORTS"); tree != "" {
		return findRecipes(b, tree)
	}
	paths, err := filepath.Glob(filepath.Join("testdata", "recipes", "*", "APKBUILD"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no test recipes: %v", err)
	}
	return paths
}

// BenchmarkLoadTree evaluates every recipe of a tree, GOMAXPROCS at a
// time, with all checks on, as apkit show does with many paths.
func BenchmarkLoadTree(b *testing.B) {
	paths := benchRecipes(b)
	workers := runtime.GOMAXPROCS(0)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for b.Loop() {
		var next, failed atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(paths) {
						return
					}
					if r, err := Load(paths[i], Options{Arch: "x86_64"}); err != nil && r == nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if failed.Load() > 0 {
			b.Fatalf("%d recipes failed", failed.Load())
		}
	}
	b.ReportMetric(float64(len(paths)), "recipes/op")
	b.ReportMetric((processCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// processCPU returns the user and system CPU time this process used so
// far: on a shared machine it says more than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAshTree sources every recipe of the same tree with busybox ash,
// one process per recipe, one at a time: the baseline for
// BenchmarkLoadTree.
func BenchmarkAshTree(b *testing.B) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		b.Skip("busybox is not installed")
	}
	paths := benchRecipes(b)
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		for _, p := range paths {
			env := Environment(p, "x86_64", nil)
			cmd := exec.CommandContext(context.Background(), busybox, "ash", "-c", `. "$APKBUILD"`)
			cmd.Env = envList(env)
			cmd.Dir = filepath.Dir(p)
			_ = cmd.Run() // a recipe that fails in ash still costs its time
			if cmd.ProcessState != nil {
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
		}
	}
	b.ReportMetric(float64(len(paths)), "recipes/op")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}
