package apk

import (
	"archive/tar"
	"bufio"
	"crypto/sha1"
	"io"
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

// peerTar writes tree's data tar as abuild's `tar | abuild-tar --hash`
// makes it, uncompressed: every entry, with a SHA-1 record per file and
// symlink (the very bytes apkit compresses).
func peerTar(w io.Writer, tree string) error {
	dw := &dataWriter{tw: tar.NewWriter(w), h: sha1.New(), buf: make([]byte, 0, 64<<10)}
	_, _, err := walkTree(tree, func(string, int, int) (Owner, error) { return RootOwner, nil }, 1700000000, dw.write)
	if err == nil {
		err = dw.tw.Close()
	}
	return err
}

// peerResult is one run of an external pipeline.
type peerResult struct {
	name      string
	size      int64
	wall, cpu time.Duration
}

// runPigz measures `pigz -n -9` compressing what feed writes to it, from
// the start of feed to pigz's end: abuild's pipeline when feed is
// peerTar. The CPU time is pigz's plus feed's, which is this process's
// (feed adds that of any process it runs).
func runPigz(name string, feed func(io.Writer) (time.Duration, error)) (*peerResult, error) {
	cmd := exec.Command("pigz", "-n", "-9")
	out := &countingDiscard{}
	cmd.Stdout = out
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	start, cpu0 := time.Now(), cpuTime()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	child, ferr := feed(in)
	in.Close()
	werr := cmd.Wait()
	if ferr != nil {
		return nil, ferr
	}
	if werr != nil {
		return nil, werr
	}
	cpu := cpuTime() - cpu0 + child + cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return &peerResult{name, out.n, time.Since(start), cpu}, nil
}

// BenchmarkPackageTree builds a package of a real tree at each setting
// and, once per process, two peers in the same run:
//
//   - "abuild": the data tar abuild makes (`tar | abuild-tar --hash`: a
//     SHA-1 record per file; apkit writes these very bytes, since neither
//     abuild-tar nor apk is in Debian) piped into `pigz -n -9`, abuild's
//     compressor. The ratios are to it: x-faster = its wall time / ours,
//     size-ratio = our size / its size (same tar bytes, so the ratio is
//     the compressor's alone), x-less-cpu = its CPU time (tar, hashing
//     and pigz) / ours, which a loaded machine disturbs less than wall
//     time.
//   - "tar": `tar -cf - . | pigz -n -9`, GNU tar without the hashing
//     pass (x-faster-tar, size-ratio-tar).
//
// Metrics: bytes of output, seconds of wall and CPU time, the ratios.
// Run one setting per process to read its peak memory (peak-RSS-MB):
//
//	go test ./pkg/apk -run '^$' -bench 'PackageTree/(default|best)$' -benchtime 1x -v
func BenchmarkPackageTree(b *testing.B) {
	tree := benchTree(b)
	if _, err := os.Stat(tree); err != nil {
		b.Skipf("no tree to package: %v", err)
	}
	var peers []*peerResult
	// runPeers measures the peers once per process.
	runPeers := func(b *testing.B) {
		if peers != nil || os.Getenv("APKIT_BENCH_NO_BASELINE") != "" {
			return
		}
		if _, err := exec.LookPath("pigz"); err != nil {
			b.Log("pigz is not installed (Debian package pigz): no peers")
			return
		}
		abuild, err := runPigz("abuild (tar | abuild-tar --hash | pigz -n -9)", func(w io.Writer) (time.Duration, error) { return 0, peerTar(w, tree) })
		if err != nil {
			b.Fatal(err)
		}
		gnu, err := runPigz("tar -cf - . | pigz -n -9", func(w io.Writer) (time.Duration, error) {
			cmd := exec.Command("tar", "-cf", "-", ".")
			cmd.Dir = tree
			cmd.Stdout = w
			if err := cmd.Run(); err != nil {
				return 0, err
			}
			return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
		})
		if err != nil {
			b.Fatal(err)
		}
		peers = []*peerResult{abuild, gnu}
		for _, p := range peers {
			b.Logf("peer %s: %d bytes, %.2f s wall, %.2f s CPU", p.name, p.size, p.wall.Seconds(), p.cpu.Seconds())
		}
	}
	b.Run("baseline", func(b *testing.B) {
		for b.Loop() {
			peers = nil
			runPeers(b)
			if peers != nil {
				b.ReportMetric(float64(peers[0].size), "bytes")
				b.ReportMetric(peers[0].wall.Seconds(), "wall-s")
			}
		}
	})
	for _, s := range []struct {
		name  string
		level int
	}{{"default", LevelDefault}, {"best", LevelBest}, {"klauspost8", 8}, {"klauspost9", 9}} {
		b.Run(s.name, func(b *testing.B) {
			runPeers(b)
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
				if peers != nil {
					b.ReportMetric(peers[0].wall.Seconds()/wall.Seconds(), "x-faster")
					b.ReportMetric(peers[0].cpu.Seconds()/cpu.Seconds(), "x-less-cpu")
					b.ReportMetric(float64(out.n)/float64(peers[0].size), "size-ratio")
					b.ReportMetric(peers[1].wall.Seconds()/wall.Seconds(), "x-faster-tar")
					b.ReportMetric(float64(out.n)/float64(peers[1].size), "size-ratio-tar")
				}
			}
			b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
		})
	}
}
