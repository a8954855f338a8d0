package apk

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var zlib9 = dfParams{good: 32, lazy: 258, nice: 258, chain: 4096}

// inflate decompresses a raw deflate stream.
func inflate(t testing.TB, data []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

func deflateInputs(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewSource(1))
	random := make([]byte, 300_000)
	rng.Read(random)
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123456789\n"), 20000)
	skewed := make([]byte, 200_000)
	for i := range skewed {
		skewed[i] = byte(rng.ExpFloat64() * 3)
	}
	in := map[string][]byte{
		"empty":  {},
		"one":    {'x'},
		"two":    []byte("ab"),
		"zeros":  make([]byte, 1<<20+17),
		"random": random,
		"text":   text,
		"skewed": skewed,
		"mixed":  append(append(bytes.Clone(text[:100000]), random[:100000]...), skewed...),
	}
	src, err := os.ReadFile(filepath.Join(goroot(t), "src", "runtime", "proc.go"))
	if err == nil {
		in["source"] = src
	}
	return in
}

func TestDeflateRoundTrip(t *testing.T) {
	t.Parallel()
	for name, data := range deflateInputs(t) {
		for _, p := range []dfParams{zlib9, {8, 16, 128, 128}, {4, 4, 16, 16}, {8, 32, 64, 40}, {32, 258, 258, 4096}} {
			d := newDeflater(p)
			// Whole, then in chunks primed with the 32 KiB before each.
			got := inflate(t, d.compress(nil, data, 0, true))
			if !bytes.Equal(got, data) {
				t.Fatalf("%s %v: whole: round trip differs (%d vs %d bytes)", name, p, len(got), len(data))
			}
			var out []byte
			const chunk = 100_000
			for lo := 0; lo < len(data) || lo == 0; lo += chunk {
				hi := min(lo+chunk, len(data))
				out = d.compress(out, data[max(0, lo-dfWindow):hi], lo-max(0, lo-dfWindow), hi == len(data))
				if hi == len(data) {
					break
				}
			}
			got = inflate(t, out)
			if !bytes.Equal(got, data) {
				t.Fatalf("%s %v: chunked: round trip differs", name, p)
			}
		}
	}
}

func TestDeflateBeatsStored(t *testing.T) {
	t.Parallel()
	text := bytes.Repeat([]byte("hello, hello, hello\n"), 1000)
	out := newDeflater(zlib9).compress(nil, text, 0, true)
	if len(out) > 200 {
		t.Errorf("%d bytes for %d of repetitive text", len(out), len(text))
	}
	rng := rand.New(rand.NewSource(2))
	random := make([]byte, 100_000)
	rng.Read(random)
	out = newDeflater(zlib9).compress(nil, random, 0, true)
	if len(out) > len(random)+100 {
		t.Errorf("random data grew to %d bytes", len(out))
	}
}

// BenchmarkDeflateFile compresses $APKIT_BENCH_FILE in 1 MiB chunks with
// apkit's encoder at zlib's settings 6 to 9, one goroutine per core.
func BenchmarkDeflateFile(b *testing.B) {
	path := os.Getenv("APKIT_BENCH_FILE")
	if path == "" {
		b.Skip("APKIT_BENCH_FILE is not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	type setting struct {
		name string
		p    dfParams
	}
	var custom []setting
	// APKIT_BENCH_PARAMS="good,lazy,nice,chain;..." adds settings to try.
	for _, spec := range strings.Split(os.Getenv("APKIT_BENCH_PARAMS"), ";") {
		var p dfParams
		if _, err := fmt.Sscanf(spec, "%d,%d,%d,%d", &p.good, &p.lazy, &p.nice, &p.chain); err == nil {
			custom = append(custom, setting{strings.ReplaceAll(spec, ",", "-"), p})
		}
	}
	for _, s := range append(custom, []setting{{"zlib4", dfParams{4, 4, 16, 16}}, {"zlib5", dfParams{8, 16, 32, 32}}, {"zlib6", dfParams{8, 16, 128, 128}}, {"zlib7", dfParams{8, 32, 128, 256}}, {"zlib8", dfParams{32, 128, 258, 1024}}, {"zlib9", zlib9}}...) {
		if f := os.Getenv("APKIT_BENCH_ONLY"); f != "" && f != s.name && !strings.Contains(s.name, "-") {
			continue
		}
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				cpu0 := cpuTime()
				n := (len(data) + chunkSize - 1) / chunkSize
				sizes := make([]int, n)
				next := make(chan int, n)
				for i := range n {
					next <- i
				}
				close(next)
				done := make(chan struct{})
				for range runtime.GOMAXPROCS(0) {
					go func() {
						d := newDeflater(s.p)
						var out []byte
						for i := range next {
							lo, hi := i*chunkSize, min((i+1)*chunkSize, len(data))
							out = d.compress(out[:0], data[max(0, lo-dfWindow):hi], lo-max(0, lo-dfWindow), hi == len(data))
							sizes[i] = len(out)
						}
						done <- struct{}{}
					}()
				}
				for range runtime.GOMAXPROCS(0) {
					<-done
				}
				total := 0
				for _, v := range sizes {
					total += v
				}
				b.ReportMetric(float64(total), "bytes")
				b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
			}
		})
	}
}

// TestParallelGzip writes inputs around the chunk size in uneven pieces
// through parallelGzip: the result inflates to the input as one gzip
// member, and its bytes do not depend on the number of workers or on how
// the input was cut.
func TestParallelGzip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(2))
	text := bytes.Repeat([]byte("parallel gzip members, one window buffer per chunk\n"), 3*chunkSize/50)
	for _, size := range []int{0, 1, dictSize - 1, chunkSize, chunkSize + 1, 2*chunkSize + dictSize/2} {
		data := text[:size]
		var want []byte
		for _, workers := range []int{1, 3} {
			for _, piece := range []int{1 << 20, 4093} {
				var out bytes.Buffer
				z, err := newParallelGzip(&out, LevelDefault, &defaultParams, workers)
				if err != nil {
					t.Fatal(err)
				}
				for rest := data; len(rest) > 0; {
					k := min(len(rest), piece+rng.Intn(7))
					if _, err := z.Write(rest[:k]); err != nil {
						t.Fatal(err)
					}
					rest = rest[k:]
				}
				if err := z.Close(); err != nil {
					t.Fatal(err)
				}
				zr, err := gzip.NewReader(bytes.NewReader(out.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				zr.Multistream(false)
				got, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("size %d, %d workers: inflated %d bytes (%v), want %d", size, workers, len(got), err, size)
				}
				if want == nil {
					want = out.Bytes()
				} else if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("size %d: %d workers, pieces of %d: different bytes", size, workers, piece)
				}
			}
		}
	}
}
