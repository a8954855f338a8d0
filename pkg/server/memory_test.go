package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/server"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// craftShape says what a crafted package's data segment holds.
type craftShape struct {
	entries int  // number of data entries
	nameLen int  // bytes of each entry's name
	nested  bool // each entry a directory inside the previous one
	badSum  bool // every file's checksum record is wrong
}

// craftPackage writes, without a tree on disk, a package
// NAME-1.0-r0.apk signed by key (nil: unsigned) whose data segment has the
// given shape, with a correct datahash: it reads as a package, and only
// its size and shape are hostile.
func craftPackage(t testing.TB, dir string, key *sign.PrivateKey, name string, shape craftShape) string {
	t.Helper()
	var data bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&data, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	mtime := time.Unix(1700000000, 0)
	emptySum := "da39a3ee5e6b4b0d3255bfef95601890afd80709" // SHA-1 of nothing
	if shape.badSum {
		emptySum = strings.Repeat("0", 40)
	}
	if !shape.nested {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			t.Fatal(err)
		}
	}
	prefix := ""
	for i := range shape.entries - 1 {
		if shape.nested {
			seg := fmt.Sprintf("%d", i)
			if len(prefix)+len(seg)+2 > 4000 {
				prefix = "" // start a new chain at the top
			}
			prefix += seg + "/"
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: prefix, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		n := fmt.Sprintf("%07d", i)
		n = "d/" + strings.Repeat("n", max(shape.nameLen-len(n), 1)) + n
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, ModTime: mtime, Format: tar.FormatPAX,
			PAXRecords: map[string]string{apk.ChecksumKey: emptySum}}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	sum := sha256.Sum256(data.Bytes())
	info := apk.PkgInfo{Name: name, Version: "1.0-r0", Arch: "x86_64", Description: "crafted", URL: "https://example.test",
		BuildDate: mtime.Unix(), Packager: "Test <t@example.test>", Origin: name, License: "MIT", Size: 1,
		DataHash: hex.EncodeToString(sum[:])}
	text, err := info.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	ctw := tar.NewWriter(&raw)
	ctw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ".PKGINFO", Mode: 0o644, Size: int64(len(text)), ModTime: mtime, Uname: "root", Gname: "root", Format: tar.FormatUSTAR})
	ctw.Write(text)
	ctw.Flush()
	var ctl bytes.Buffer
	cz := gzip.NewWriter(&ctl)
	cz.Write(raw.Bytes())
	cz.Close()
	var out bytes.Buffer
	if key != nil {
		sig, err := key.SignBytes(sign.RSA256, ctl.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if err := sign.WriteSignatureMember(&out, []sign.Signature{sig}, mtime); err != nil {
			t.Fatal(err)
		}
	}
	out.Write(ctl.Bytes())
	out.Write(data.Bytes())
	p := filepath.Join(dir, name+"-1.0-r0.apk")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// heapPeak samples the heap in use while fn runs and returns the peak
// above what was in use before.
func heapPeak(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// TestUploadMemoryBounded uploads crafted packages of many entries, long
// names and deep nesting to a server with the production validator and
// repository, and checks that the heap the server uses for each stays
// under 64 MiB, whether the package is refused or added.
func TestUploadMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds packages of hundreds of thousands of entries")
	}
	const bound = 64 << 20
	_, upKey := testKeys(t)
	tests := []struct {
		name  string
		shape craftShape
		n     int // uploads at once
	}{
		// 60 MB of names: a reader that keeps them goes far past the bound.
		{"60000 entries, 1000-byte names", craftShape{entries: 60_000, nameLen: 1000}, 1},
		{"60000 entries, wrong checksums", craftShape{entries: 60_000, nameLen: 1000, badSum: true}, 1},
		{"30000 nested directories", craftShape{entries: 30_000, nested: true}, 1},
		{"two at once", craftShape{entries: 60_000, nameLen: 1000}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srvKey, _ := testKeys(t)
			e := newEnv(t, func(o *server.Options) {
				o.Validator = server.PackageValidator{Keys: keyring(upKey)}
				o.Repository = &server.Repositories{Options: repo.Options{Key: srvKey, Keys: keyring(upKey), Jobs: 1}}
				o.MaxUploadSize = 64 << 20
				o.Verifier = nil
			})
			n := max(tc.n, 1)
			pkgs := make([]string, n)
			for i := range pkgs {
				pkgs[i] = craftPackage(t, t.TempDir(), upKey, fmt.Sprintf("crafted%d", i), tc.shape)
			}
			fi, _ := os.Stat(pkgs[0])
			codes := make([]int, n)
			replies := make([]string, n)
			peak := heapPeak(func() {
				var wg sync.WaitGroup
				for i := range pkgs {
					wg.Go(func() { codes[i], replies[i] = uploadFiles(t, e, "", nil, pkgs[i]) })
				}
				wg.Wait()
			})
			reply := replies[0]
			if len(reply) > 300 {
				reply = reply[:300] + "..."
			}
			t.Logf("%d × %d-byte package: status %d, heap peak %.1f MiB: %s", n, fi.Size(), codes[0], float64(peak)/(1<<20), reply)
			if peak > uint64(n)*bound {
				t.Errorf("heap peak %.1f MiB, want under %d MiB", float64(peak)/(1<<20), n*bound>>20)
			}
			for _, code := range codes {
				if code >= 500 {
					t.Errorf("status %d", code)
				}
			}
		})
	}
}
