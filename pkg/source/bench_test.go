package source

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchTree is a source-like tree (text files of mixed sizes in nested
// directories, about 120 MB) made once per test binary run, packed with
// the system tar as .tar.gz and .tar.xz.
var benchTree struct {
	once     sync.Once
	dir      string
	err      error
	gz, xz   string
	unpacked int64
}

func benchArchives(b *testing.B) (gz, xz string) {
	b.Helper()
	for _, tool := range []string{"tar", "gzip", "xz"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed", tool)
		}
	}
	benchTree.once.Do(func() {
		// APKIT_BENCH_DIR keeps the archives between runs.
		if dir := os.Getenv("APKIT_BENCH_DIR"); dir != "" {
			gz, xz := filepath.Join(dir, "bench-1.0.tar.gz"), filepath.Join(dir, "bench-1.0.tar.xz")
			if _, err := os.Stat(xz); err == nil {
				benchTree.gz, benchTree.xz = gz, xz
				return
			}
		}
		dir, err := os.MkdirTemp("", "apkit-unpack-bench-")
		if err != nil {
			benchTree.err = err
			return
		}
		benchTree.dir = dir
		words := strings.Fields("int char static return if else for while struct void const unsigned size_t NULL " +
			"buffer length error value result config options parse write read file path name index count")
		rng := rand.New(rand.NewPCG(1, 2))
		tree := filepath.Join(dir, "tree", "bench-1.0")
		var total int64
		for i := range 4000 {
			sub := filepath.Join(tree, fmt.Sprintf("d%02d", i%40), fmt.Sprintf("s%d", i%7))
			os.MkdirAll(sub, 0o755)
			size := 2000 + rng.IntN(40000)
			if i%100 == 0 {
				size = 1 << 20
			}
			var sb strings.Builder
			for sb.Len() < size {
				sb.WriteString(words[rng.IntN(len(words))])
				if rng.IntN(8) == 0 {
					sb.WriteString(fmt.Sprintf(" %d;\n\t", rng.IntN(100000)))
				} else {
					sb.WriteByte(' ')
				}
			}
			os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d.c", i)), []byte(sb.String()), 0o644)
			total += int64(sb.Len())
		}
		benchTree.unpacked = total
		benchTree.gz = filepath.Join(dir, "bench-1.0.tar.gz")
		benchTree.xz = filepath.Join(dir, "bench-1.0.tar.xz")
		tarball := filepath.Join(dir, "bench-1.0.tar")
		for _, c := range []string{
			"tar -C " + filepath.Join(dir, "tree") + " -cf " + tarball + " bench-1.0",
			"gzip -6 -c " + tarball + " > " + benchTree.gz,
			"xz -6 -T2 -c " + tarball + " > " + benchTree.xz,
			"rm " + tarball,
		} {
			if out, err := exec.Command("sh", "-c", c).CombinedOutput(); err != nil {
				benchTree.err = fmt.Errorf("%s: %v\n%s", c, err, out)
				return
			}
		}
		os.RemoveAll(filepath.Join(dir, "tree"))
		if keep := os.Getenv("APKIT_BENCH_DIR"); keep != "" {
			os.MkdirAll(keep, 0o755)
			for _, f := range []*string{&benchTree.gz, &benchTree.xz} {
				dst := filepath.Join(keep, filepath.Base(*f))
				if err := os.Rename(*f, dst); err == nil {
					*f = dst
				}
			}
		}
	})
	if benchTree.err != nil {
		b.Fatal(benchTree.err)
	}
	return benchTree.gz, benchTree.xz
}

// benchUnpack times Unpack against the system tar on the same archive,
// alternating the two, and reports apkit's time over tar's as "x-tar"
// (below 1 means apkit is faster).
func benchUnpack(b *testing.B, archive, tarFlag string, opts UnpackOptions) {
	var ours, theirs time.Duration
	for i := 0; b.Loop(); i++ {
		dest := filepath.Join(b.TempDir(), "ours")
		start := time.Now()
		if err := Unpack(context.Background(), archive, dest, opts); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		os.RemoveAll(dest)

		dest = filepath.Join(b.TempDir(), "tar")
		os.MkdirAll(dest, 0o755)
		start = time.Now()
		if out, err := exec.Command("tar", "-C", dest, tarFlag, archive).CombinedOutput(); err != nil {
			b.Fatalf("tar: %v\n%s", err, out)
		}
		theirs += time.Since(start)
		os.RemoveAll(dest)
	}
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "apkit-ms/op")
	b.ReportMetric(float64(theirs.Milliseconds())/float64(b.N), "tar-ms/op")
	b.ReportMetric(float64(ours)/float64(theirs), "x-tar")
}

// BenchmarkUnpackTarGz compares Unpack with "tar -xzf".
// Run: go test ./pkg/source -run '^$' -bench Unpack -benchtime 3x -timeout 30m
// (TMPDIR=/dev/shm measures decoding rather than the disk; APKIT_BENCH_DIR
// keeps the generated archives for the next run).
func BenchmarkUnpackTarGz(b *testing.B) {
	gz, _ := benchArchives(b)
	benchUnpack(b, gz, "-xzf", UnpackOptions{})
}

// BenchmarkUnpackTarXz compares Unpack with "tar -xJf".
func BenchmarkUnpackTarXz(b *testing.B) {
	_, xz := benchArchives(b)
	benchUnpack(b, xz, "-xJf", UnpackOptions{})
}

// BenchmarkUnpackTarXzPureGo compares Unpack with the pure Go xz decoder
// (github.com/ulikunitz/xz) with "tar -xJf".
func BenchmarkUnpackTarXzPureGo(b *testing.B) {
	_, xz := benchArchives(b)
	benchUnpack(b, xz, "-xJf", UnpackOptions{PureGo: true})
}

// TestMain removes the benchmark's archives.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchTree.dir != "" {
		os.RemoveAll(benchTree.dir)
	}
	os.Exit(code)
}
