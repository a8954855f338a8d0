package repo_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// packageSet is a directory of n small signed packages, made once per
// process: each holds the same tree of 12 files (24 KB installed, about
// the median package of Alpine's main repository) under its own name.
type packageSet struct {
	dir   string
	files []string
	key   *sign.PrivateKey
}

var (
	setOnce sync.Once
	set     *packageSet
	setErr  error
)

func thousandPackages(b *testing.B) *packageSet {
	b.Helper()
	setOnce.Do(func() { set, setErr = makePackages(1000) })
	if setErr != nil {
		b.Fatal(setErr)
	}
	return set
}

func makePackages(n int) (*packageSet, error) {
	root, err := os.MkdirTemp("", "apkit-bench-")
	if err != nil {
		return nil, err
	}
	tree := filepath.Join(root, "tree")
	rnd := mrand.New(mrand.NewPCG(1, 2))
	words := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau")
	for i := range 12 {
		var sb strings.Builder
		for sb.Len() < 2048 {
			sb.WriteString(words[rnd.IntN(len(words))])
			sb.WriteByte(' ')
		}
		p := filepath.Join(tree, "usr", "share", "bench", fmt.Sprintf("file%02d.txt", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
			return nil, err
		}
	}
	key, err := sign.GenerateKey(nil, "bench@example.com", 2048, time.Unix(0x6748a2b1, 0))
	if err != nil {
		return nil, err
	}
	out := filepath.Join(root, "x86_64")
	os.MkdirAll(out, 0o755)
	s := &packageSet{dir: out, key: key}
	for i := range n {
		info := apk.PkgInfo{
			Name: fmt.Sprintf("bench%04d", i), Version: "1.0-r0", Description: "benchmark package",
			URL: "https://example.com/", BuildDate: 1700000000, Packager: "Bench <bench@example.com>",
			Arch: "x86_64", Origin: "bench", License: "MIT", Depends: []string{"musl"},
		}
		p := filepath.Join(out, info.FileName())
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		_, err = apk.Write(f, &apk.Input{Info: info, Dir: tree, Key: key, Workers: 1})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, p)
	}
	return s, nil
}

// BenchmarkIndex1000 indexes 1,000 signed packages from scratch, in both
// modes: "verify-data" reads each package whole and checks its signature,
// datahash and every file's SHA-1 (apkit index --verify-data, the only mode
// before); "default" stops at the end of each control segment, as apk index
// 2.14 does (signature, control segment, .PKGINFO). apk itself is not in
// Debian, so the peer measured in the same run is the full mode: "default"
// reports x-faster-than-verify-data, its wall time's ratio to it.
//
//	go test ./pkg/repo -run '^$' -bench 'Index1000$' -benchtime 10x
func BenchmarkIndex1000(b *testing.B) {
	s := thousandPackages(b)
	kr := &sign.Keyring{}
	kr.Add(s.key.Name, &s.key.Key.PublicKey)
	ctx := context.Background()
	var full time.Duration // per index, in "verify-data"
	for _, mode := range []string{"verify-data", "default"} {
		b.Run(mode, func(b *testing.B) {
			cpu := startCPU()
			start := time.Now()
			for b.Loop() {
				res, err := repo.IndexFiles(ctx, s.files, repo.IndexOptions{Keys: kr, VerifyData: mode == "verify-data"})
				if err != nil {
					b.Fatal(err)
				}
				if res.Read != 1000 {
					b.Fatalf("read %d", res.Read)
				}
			}
			wall := time.Since(start) / time.Duration(b.N)
			cpu.report(b)
			if mode == "verify-data" {
				full = wall
			} else if full > 0 {
				b.ReportMetric(float64(full)/float64(wall), "x-faster-than-verify-data")
			}
		})
	}
}

// cpuTimer measures the CPU time the process uses (all threads), which a
// loaded machine does not inflate the way it inflates wall time.
type cpuTimer struct{ start time.Duration }

func startCPU() cpuTimer { return cpuTimer{processCPU()} }

// report adds a cpu-ms/op metric.
func (c cpuTimer) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-c.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIndex1000Reuse indexes the same 1,000 packages again with the
// previous index: every entry is reused, no package is read.
func BenchmarkIndex1000Reuse(b *testing.B) {
	s := thousandPackages(b)
	kr := &sign.Keyring{}
	kr.Add(s.key.Name, &s.key.Key.PublicKey)
	ctx := context.Background()
	res, err := repo.IndexFiles(ctx, s.files, repo.IndexOptions{Keys: kr})
	if err != nil {
		b.Fatal(err)
	}
	old := &index.Index{Records: res.Records}
	for b.Loop() {
		res, err := repo.IndexFiles(ctx, s.files, repo.IndexOptions{Keys: kr, Old: old, OldModTime: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if res.Reused != 1000 {
			b.Fatalf("reused %d", res.Reused)
		}
	}
}
