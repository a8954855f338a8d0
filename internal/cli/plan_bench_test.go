package cli_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/apkit-dev/apkit/internal/cli"
	"github.com/apkit-dev/apkit/internal/term"
)

// BenchmarkPlan runs apkit plan --json over a directory of generated
// recipes that depend on one another (each checkdepends on the one at half
// its number), and, as the baseline, apkit show --json over the same
// recipes: reading them is most of planning. It reports the cost per
// recipe: time, CPU, bytes allocated and the peak heap.
//
//	go test ./internal/cli -run '^$' -bench Plan -benchtime 3x
func BenchmarkPlan(b *testing.B) {
	const n = 2000
	dir := b.TempDir()
	paths := writeBenchRecipes(b, dir, n)
	for i, p := range paths {
		if i == 0 {
			continue
		}
		f, err := os.OpenFile(filepath.Join(p, "APKBUILD"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(f, "checkdepends=\"$checkdepends bench%d\"\n", i/2)
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.Setenv("APKIT_CONFIG", filepath.Join(b.TempDir(), "none.yaml"))
	b.Setenv("APKIT_REPODEST", filepath.Join(b.TempDir(), "packages"))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plan", []string{"plan", "--json", "--arch", "x86_64", filepath.Join(dir, "main")}},
		{"show", append([]string{"show", "--json", "--arch", "x86_64"}, paths...)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			streams := term.Test().Streams
			streams.Out, streams.ErrOut = io.Discard, io.Discard
			var peak uint64
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			cpu0 := processCPU()
			b.ResetTimer()
			for b.Loop() {
				runtime.GC()
				stop := make(chan struct{})
				res := peakHeap(stop)
				if code := cli.Run(context.Background(), streams, tc.args); code != 0 {
					b.Fatalf("exit %d", code)
				}
				close(stop)
				peak = max(peak, <-res)
			}
			b.StopTimer()
			cpu := processCPU() - cpu0
			runtime.ReadMemStats(&ms1)
			runs := float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/runs/n, "ns/recipe")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/runs/n, "B/recipe")
			b.ReportMetric(float64(cpu.Nanoseconds())/runs/n, "cpu-ns/recipe")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		})
	}
}
