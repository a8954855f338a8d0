package apk

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchTree returns the tree the packaging benchmarks use: $APKIT_BENCH_TREE,
// else the Go installation (about 270 MB in 16,700 files).
func benchTree(b *testing.B) string {
	if d := os.Getenv("APKIT_BENCH_TREE"); d != "" {
		return d
	}
	return goroot(b)
}

// goroot returns `go env GOROOT`.
func goroot(tb testing.TB) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		tb.Skipf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkPackageTree builds a package of a real tree at each setting
// and, in the same run, the baseline `tar -cf - . | pigz -n -9` (abuild's
// pipeline without its hashing pass). Metrics: bytes of output, seconds of
// wall and CPU time, and the ratios to the baseline (x-faster = baseline
// wall time / ours; size-ratio = our size / baseline size). Run one
// setting per process to read its peak memory (peak-RSS-MB):
//
//	go test ./pkg/apk -run '^$' -bench 'PackageTree/(baseline|default|best)$' -benchtime 1x
func BenchmarkPackageTree(b *testing.B) {
	tree := benchTree(b)
	if _, err := os.Stat(tree); err != nil {
		b.Skipf("no tree to package: %v", err)
	}
	var baseWall time.Duration
	var baseSize int64
	// runBaseline measures the baseline once per process.
	runBaseline := func(b *testing.B) {
		if baseSize > 0 || os.Getenv("APKIT_BENCH_NO_BASELINE") != "" {
			return
		}
		if _, err := exec.LookPath("pigz"); err != nil {
			b.Log("pigz is not installed (Debian package pigz): no baseline")
			return
		}
		cmd := exec.Command("sh", "-c", "tar -cf - . | pigz -n -9")
		cmd.Dir = tree
		out := &countingDiscard{}
		cmd.Stdout = out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		baseWall, baseSize = time.Since(start), out.n
		b.Logf("baseline tar | pigz -n -9: %d bytes, %.2f s wall, %.2f s CPU", out.n, baseWall.Seconds(),
			(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds())
	}
	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			baseSize = 0
			runBaseline(b)
			b.ReportMetric(float64(baseSize), "bytes")
			b.ReportMetric(baseWall.Seconds(), "wall-s")
		}
	})
	for _, s := range []struct {
		name  string
		level int
	}{{"default", LevelDefault}, {"best", LevelBest}, {"klauspost8", 8}, {"klauspost9", 9}} {
		b.Run(s.name, func(b *testing.B) {
			runBaseline(b)
			tmp := b.TempDir()
			for b.Loop() {
				out := &countingDiscard{}
				cpu0, start := cpuTime(), time.Now()
				_, err := Write(out, &Input{Info: testInfo(), Dir: tree, Level: s.level, TempDir: tmp, Owner: func(string, int, int) (Owner, error) { return RootOwner, nil }})
				if err != nil {
					b.Fatal(err)
				}
				wall, cpu := time.Since(start), cpuTime()-cpu0
				b.ReportMetric(float64(out.n), "bytes")
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(cpu.Seconds(), "cpu-s")
				if baseSize > 0 {
					b.ReportMetric(baseWall.Seconds()/wall.Seconds(), "x-faster")
					b.ReportMetric(float64(out.n)/float64(baseSize), "size-ratio")
				}
			}
			b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
		})
	}
}
