package source

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"
)

// multiBlockXZ returns data compressed as an xz stream of small blocks.
func multiBlockXZ(t *testing.T, data []byte, check string) []byte {
	t.Helper()
	if check == "crc64" {
		var buf bytes.Buffer
		w, err := xz.WriterConfig{BlockSize: 64 << 10}.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz is not installed")
	}
	cmd := exec.Command("xz", "-c", "-T2", "--block-size=65536", "--check="+check)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParallelXZ(t *testing.T) {
	t.Parallel()
	data := payload(700 << 10)
	for _, check := range []string{"crc64", "crc32", "sha256", "none"} {
		t.Run(check, func(t *testing.T) {
			t.Parallel()
			comp := multiBlockXZ(t, data, check)
			px, ok := parallelXZ(bytes.NewReader(comp), int64(len(comp)))
			if !ok {
				t.Fatal("a multi-block file was not taken")
			}
			got, err := io.ReadAll(px)
			px.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("decoded %d bytes that differ from the %d written", len(got), len(data))
			}

			// A flipped byte in a block's data fails that block's check
			// (or its decoding), never silently.
			bad := append([]byte(nil), comp...)
			bad[len(bad)/2] ^= 0x55
			if px, ok := parallelXZ(bytes.NewReader(bad), int64(len(bad))); ok {
				if _, err := io.ReadAll(px); err == nil && check != "none" {
					t.Errorf("a corrupt block decoded without error")
				}
				px.Close()
			}
			// A truncated file is left to the sequential decoder.
			if _, ok := parallelXZ(bytes.NewReader(comp[:len(comp)-100]), int64(len(comp)-100)); ok {
				t.Errorf("a truncated file was taken")
			}
		})
	}
	// A single-block file is not worth it.
	var buf bytes.Buffer
	w, _ := xz.NewWriter(&buf)
	w.Write(data)
	w.Close()
	if _, ok := parallelXZ(bytes.NewReader(buf.Bytes()), int64(buf.Len())); ok {
		t.Errorf("a single-block file was taken")
	}
}

func TestUnpackMultiBlockXZ(t *testing.T) {
	t.Parallel()
	raw := makeTar(t, append(goodTree, entry{name: "pkg-1.0/big", body: string(payload(500 << 10))}))
	dir := t.TempDir()
	archive := filepath.Join(dir, "pkg-1.0.tar.xz")
	os.WriteFile(archive, multiBlockXZ(t, raw, "crc64"), 0o644)
	dest := filepath.Join(dir, "src")
	if err := Unpack(context.Background(), archive, dest, UnpackOptions{PureGo: true}); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(dest, "pkg-1.0/ro"), 0o755)
	got, _ := os.ReadFile(filepath.Join(dest, "pkg-1.0/big"))
	if !bytes.Equal(got, payload(500<<10)) {
		t.Errorf("big file differs")
	}
}

// FuzzParallelXZ feeds arbitrary files to the parallel xz decoder: it
// must not panic, and what it decodes must be what the sequential
// decoder makes of the same bytes.
func FuzzParallelXZ(f *testing.F) {
	var buf bytes.Buffer
	w, _ := xz.WriterConfig{BlockSize: 4 << 10}.NewWriter(&buf)
	w.Write(payload(20 << 10))
	w.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		px, ok := parallelXZ(bytes.NewReader(data), int64(len(data)))
		if !ok {
			return
		}
		got, err := io.ReadAll(io.LimitReader(px, 64<<20))
		px.Close()
		if err != nil {
			return
		}
		seq, err := xz.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		want, err := io.ReadAll(io.LimitReader(seq, 64<<20))
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("parallel and sequential decoding differ")
		}
	})
}
