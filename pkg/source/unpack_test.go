package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/sorairolake/lzip-go"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

var mtime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// entry describes one tar entry to write.
type entry struct {
	name, link string
	typ        byte
	mode       int64
	body       string
}

func makeTar(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: typ, Mode: mode, ModTime: mtime, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compress compresses data in format f (a tar.* or single format).
func compress(t testing.TB, data []byte, f Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch strings.TrimPrefix(string(f), "tar.") {
	case "tar":
		return data
	case "gz":
		w = gzip.NewWriter(&buf)
	case "xz":
		w, err = xz.NewWriter(&buf)
	case "zst":
		w, err = zstd.NewWriter(&buf)
	case "lz":
		w = lzip.NewWriter(&buf)
	case "lzma":
		w, err = lzma.NewWriter(&buf)
	case "bz2":
		if _, err := exec.LookPath("bzip2"); err != nil {
			t.Skip("bzip2 is not installed")
		}
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return out
	default:
		t.Fatalf("no writer for %s", f)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tree lists what is below dir: "name mode" for files and dirs, "name -> target" for symlinks.
func tree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, _ := os.Lstat(p)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case fi.IsDir():
			out = append(out, rel+"/ "+fi.Mode().Perm().String())
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+" "+fi.Mode().Perm().String()+" "+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

var goodTree = []entry{
	{name: "pkg-1.0/", typ: tar.TypeDir},
	{name: "pkg-1.0/configure", mode: 0o755, body: "#!/bin/sh\n"},
	{name: "pkg-1.0/src/main.c", body: "int main(void){return 0;}\n"},
	{name: "pkg-1.0/README", mode: 0o444, body: "read me\n"},
	{name: "pkg-1.0/README.md", typ: tar.TypeSymlink, link: "README"},
	{name: "pkg-1.0/COPYING", typ: tar.TypeLink, link: "pkg-1.0/README"},
	{name: "pkg-1.0/ro/", typ: tar.TypeDir, mode: 0o555},
	{name: "./pkg-1.0/ro/file", body: "x"},
}

var wantGoodTree = []string{
	"pkg-1.0/ -rwxr-xr-x",
	"pkg-1.0/COPYING -r--r--r-- read me\n",
	"pkg-1.0/README -r--r--r-- read me\n",
	"pkg-1.0/README.md -> README",
	"pkg-1.0/configure -rwxr-xr-x #!/bin/sh\n",
	"pkg-1.0/ro/ -r-xr-xr-x",
	"pkg-1.0/ro/file -rw-r--r-- x",
	"pkg-1.0/src/ -rwxr-xr-x",
	"pkg-1.0/src/main.c -rw-r--r-- int main(void){return 0;}\n",
}

func TestUnpackFormats(t *testing.T) {
	t.Parallel()
	raw := makeTar(t, goodTree)
	for _, f := range []Format{FormatTar, FormatTarGz, FormatTarBz2, FormatTarXz, FormatTarZst, FormatTarLz, FormatTarLzma} {
		for _, pure := range []bool{false, true} {
			name := string(f)
			if pure {
				name += "/pure-go"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				archive := filepath.Join(dir, "pkg-1.0."+string(f))
				if err := os.WriteFile(archive, compress(t, raw, f), 0o644); err != nil {
					t.Fatal(err)
				}
				dest := filepath.Join(dir, "src")
				if err := Unpack(context.Background(), archive, dest, UnpackOptions{PureGo: pure}); err != nil {
					t.Fatal(err)
				}
				defer os.Chmod(filepath.Join(dest, "pkg-1.0/ro"), 0o755) // let TempDir clean up
				if diff := cmp.Diff(wantGoodTree, tree(t, dest)); diff != "" {
					t.Errorf("tree (-want +got):\n%s", diff)
				}
				fi, err := os.Stat(filepath.Join(dest, "pkg-1.0/configure"))
				if err != nil || !fi.ModTime().Equal(mtime) {
					t.Errorf("configure mtime = %v, want %v", fi.ModTime(), mtime)
				}
				fi, err = os.Stat(filepath.Join(dest, "pkg-1.0"))
				if err != nil || !fi.ModTime().Equal(mtime) {
					t.Errorf("directory mtime = %v, want %v", fi.ModTime(), mtime)
				}
				li, err := os.Lstat(filepath.Join(dest, "pkg-1.0/README.md"))
				if err != nil || !li.ModTime().Equal(mtime) {
					t.Errorf("symlink mtime = %v, want %v", li.ModTime(), mtime)
				}
				a, _ := os.Stat(filepath.Join(dest, "pkg-1.0/README"))
				b, _ := os.Stat(filepath.Join(dest, "pkg-1.0/COPYING"))
				if !os.SameFile(a, b) {
					t.Errorf("COPYING is not a hard link to README")
				}
			})
		}
	}
}

func TestUnpackZip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, mode fs.FileMode, body string) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	add("z-1/", fs.ModeDir|0o755, "")
	add("z-1/run.sh", 0o755, "echo\n")
	add("z-1/link", fs.ModeSymlink|0o777, "run.sh")
	add("z-1/keep", 0o644, "new\n")
	zw.Close()
	archive := filepath.Join(dir, "z-1.zip")
	os.WriteFile(archive, buf.Bytes(), 0o644)
	dest := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(dest, "z-1"), 0o755)
	os.WriteFile(filepath.Join(dest, "z-1/keep"), []byte("old\n"), 0o644)
	if err := Unpack(context.Background(), archive, dest, UnpackOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"z-1/ -rwxr-xr-x", "z-1/keep -rw-r--r-- old\n", "z-1/link -> run.sh", "z-1/run.sh -rwxr-xr-x echo\n"}
	if diff := cmp.Diff(want, tree(t, dest)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
}

func TestUnpackSingleFile(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{FormatGz, FormatXz, FormatZst, FormatLz, FormatBz2} {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			archive := filepath.Join(dir, "fix.patch."+string(f))
			os.WriteFile(archive, compress(t, []byte("--- a\n+++ b\n"), f), 0o644)
			dest := filepath.Join(dir, "src")
			if err := Unpack(context.Background(), archive, dest, UnpackOptions{}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"fix.patch -rw-r--r-- --- a\n+++ b\n"}, tree(t, dest)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnpackHostile(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("\x00", 4<<20)
	tests := []struct {
		name    string
		entries []entry
		zip     []string // zip entry names instead of a tar
		opts    UnpackOptions
		wantErr string
		is      error
	}{
		{name: "absolute path", entries: []entry{{name: "/tmp/evil", body: "x"}}, wantErr: `entry "/tmp/evil": absolute path`},
		{name: "dotdot", entries: []entry{{name: "../evil", body: "x"}}, wantErr: `entry "../evil": path escapes the destination with ..`},
		{name: "dotdot inside", entries: []entry{{name: "a/../../evil", body: "x"}}, wantErr: `entry "a/../../evil": path escapes`},
		{name: "dotdot that stays inside", entries: []entry{{name: "a/b/../../../evil", body: "x"}}, wantErr: "path escapes"},
		{name: "hidden dotdot component", entries: []entry{{name: "a/../b", body: "x"}}, wantErr: "path contains a .. component"},
		{
			name: "write through absolute symlink",
			entries: []entry{
				{name: "link", typ: tar.TypeSymlink, link: "OUTSIDE"},
				{name: "link/evil", body: "x"},
			},
			wantErr: `entry "link/evil": write through a symlink leading outside the destination`,
		},
		{
			name: "write through relative symlink",
			entries: []entry{
				{name: "d/", typ: tar.TypeDir},
				{name: "d/up", typ: tar.TypeSymlink, link: "../.."},
				{name: "d/up/evil", body: "x"},
			},
			wantErr: "write through a symlink leading outside",
		},
		{
			name: "symlink to a file outside then overwrite",
			entries: []entry{
				{name: "f", typ: tar.TypeSymlink, link: "OUTSIDE/victim"},
				{name: "f", body: "overwritten"},
			},
			// Replacing the symlink is fine: the new file lands inside.
		},
		{
			name:    "hard link outside",
			entries: []entry{{name: "h", typ: tar.TypeLink, link: "../victim"}},
			wantErr: `hard link to "../victim" outside the destination`,
		},
		{
			name:    "hard link absolute",
			entries: []entry{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}},
			wantErr: `hard link to "/etc/passwd" outside`,
		},
		{
			name: "hard link through a symlink",
			entries: []entry{
				{name: "s", typ: tar.TypeSymlink, link: "OUTSIDE"},
				{name: "h", typ: tar.TypeLink, link: "s/victim"},
			},
			wantErr: "write through a symlink leading outside",
		},
		{name: "char device", entries: []entry{{name: "null", typ: tar.TypeChar}}, wantErr: `entry "null": device node or special file`},
		{name: "block device", entries: []entry{{name: "sda", typ: tar.TypeBlock}}, wantErr: "device node"},
		{name: "fifo", entries: []entry{{name: "p", typ: tar.TypeFifo}}, wantErr: "device node or special file"},
		{
			name:    "bomb",
			entries: []entry{{name: "a", body: big}, {name: "b", body: big}},
			opts:    UnpackOptions{MaxBytes: 6 << 20},
			wantErr: `entry "b": archive expands beyond 6291456 bytes`,
			is:      ErrTooLarge,
		},
		{
			name:    "too many entries",
			entries: []entry{{name: "a"}, {name: "b"}, {name: "c"}},
			opts:    UnpackOptions{MaxEntries: 2},
			wantErr: "more than 2 entries",
			is:      ErrTooLarge,
		},
		{name: "zip dotdot", zip: []string{"ok", "../evil"}, wantErr: `entry "../evil": path escapes`},
		{name: "zip absolute", zip: []string{"/evil"}, wantErr: "absolute path"},
		{name: "zip write through symlink", zip: []string{"l -> OUTSIDE", "l/victim"}, wantErr: `entry "l/victim": write through a symlink leading outside`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			top := t.TempDir()
			outside := filepath.Join(top, "outside")
			os.Mkdir(outside, 0o755)
			os.WriteFile(filepath.Join(outside, "victim"), []byte("victim"), 0o644)
			archives := filepath.Join(top, "archives")
			os.Mkdir(archives, 0o755)
			var archive string
			if tt.zip != nil {
				var buf bytes.Buffer
				zw := zip.NewWriter(&buf)
				for _, n := range tt.zip {
					h := &zip.FileHeader{Name: n}
					body := "x"
					if name, target, ok := strings.Cut(n, " -> "); ok {
						h.Name, body = name, strings.ReplaceAll(target, "OUTSIDE", outside)
						h.SetMode(fs.ModeSymlink | 0o777)
					}
					w, _ := zw.CreateHeader(h)
					io.WriteString(w, body)
				}
				zw.Close()
				archive = filepath.Join(archives, "h.zip")
				os.WriteFile(archive, buf.Bytes(), 0o644)
			} else {
				var es []entry
				for _, e := range tt.entries {
					e.link = strings.ReplaceAll(e.link, "OUTSIDE", outside)
					es = append(es, e)
				}
				archive = filepath.Join(archives, "h.tar.gz")
				os.WriteFile(archive, compress(t, makeTar(t, es), FormatTarGz), 0o644)
			}
			dest := filepath.Join(top, "srcdir", "src")
			err := Unpack(context.Background(), archive, dest, tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrUnsafeArchive) {
					t.Errorf("errors.Is(err, ErrUnsafeArchive) = false for %v", err)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("errors.Is(err, %v) = false", tt.is)
				}
			}
			// Nothing was written outside dest.
			if diff := cmp.Diff([]string{"victim -rw-r--r-- victim"}, tree(t, outside)); diff != "" {
				t.Errorf("outside changed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{filepath.Base(archive) + " -rw-r--r-- "}, trimBodies(tree(t, archives))); diff != "" {
				t.Errorf("archive dir changed (-want +got):\n%s", diff)
			}
			ents, _ := os.ReadDir(filepath.Join(top, "srcdir"))
			if len(ents) != 1 {
				t.Errorf("srcdir's parent holds %d entries, want only src", len(ents))
			}
			for _, e := range []string{"/tmp/evil"} {
				if _, err := os.Lstat(e); err == nil && tt.name == "absolute path" {
					t.Errorf("%s was created", e)
				}
			}
		})
	}
}

func trimBodies(lines []string) []string {
	for i, l := range lines {
		if j := strings.Index(l, "-rw-r--r-- "); j >= 0 {
			lines[i] = l[:j+len("-rw-r--r-- ")]
		}
	}
	return lines
}

func TestUnpackCorrupt(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{FormatTarGz, FormatTarXz, FormatTarBz2, FormatTarZst} {
		for _, pure := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pure=%v", f, pure), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				data := compress(t, makeTar(t, append(goodTree, entry{name: "big", body: strings.Repeat("abcdefgh", 64<<10)})), f)
				for _, c := range []struct {
					name string
					data []byte
				}{
					{"truncated", data[:len(data)*3/4]},
					{"garbage", append(append([]byte{}, data[:len(data)/2]...), bytes.Repeat([]byte{0x55}, len(data)/2)...)},
				} {
					archive := filepath.Join(dir, c.name+".tar."+strings.TrimPrefix(string(f), "tar."))
					os.WriteFile(archive, c.data, 0o644)
					dest := filepath.Join(dir, "src-"+c.name)
					err := Unpack(context.Background(), archive, dest, UnpackOptions{PureGo: pure})
					if err == nil {
						t.Errorf("%s archive unpacked without error", c.name)
					}
					os.Chmod(filepath.Join(dest, "pkg-1.0/ro"), 0o755)
				}
			})
		}
	}
}

func TestFormatOf(t *testing.T) {
	t.Parallel()
	tests := map[string]Format{
		"a.tar.gz": FormatTarGz, "a.TGZ": FormatTarGz, "a.tar.xz": FormatTarXz, "a.tar.bz2": FormatTarBz2,
		"a.tar.zst": FormatTarZst, "a.tar.lz": FormatTarLz, "a.zip": FormatZip, "a.tar": FormatTar,
		"fix.patch.gz": FormatGz, "fix.patch": FormatNone, "a.initd": FormatNone, ".gz": FormatNone,
	}
	for name, want := range tests {
		if got := FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestPopulate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	os.Mkdir(cache, 0o755)
	archive := filepath.Join(cache, "pkg-1.0.tar.gz")
	os.WriteFile(archive, compress(t, makeTar(t, goodTree[:3]), FormatTarGz), 0o644)
	patch := filepath.Join(dir, "fix.patch.gz")
	os.WriteFile(patch, compress(t, []byte("--- a\n"), FormatGz), 0o644)
	srcdir := filepath.Join(dir, "src")
	results := []Result{
		{Item: Item{Name: "pkg-1.0.tar.gz", URL: "https://x/pkg-1.0.tar.gz"}, Path: archive},
		{Item: Item{Name: "fix.patch.gz", Local: patch}, Path: patch},
	}
	for range 2 { // a second run replaces the links and the files
		if err := Populate(context.Background(), results, srcdir, UnpackOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"fix.patch.gz -> " + patch,
		"pkg-1.0.tar.gz -> " + archive,
		"pkg-1.0/ -rwxr-xr-x",
		"pkg-1.0/configure -rwxr-xr-x #!/bin/sh\n",
		"pkg-1.0/src/ -rwxr-xr-x",
		"pkg-1.0/src/main.c -rw-r--r-- int main(void){return 0;}\n",
	}
	if diff := cmp.Diff(want, tree(t, srcdir)); diff != "" {
		t.Errorf("srcdir (-want +got):\n%s", diff)
	}
}
