package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/index"
)

// Fake packages: the tests of the repository machinery do not need real
// .apk files. A fake package is a file holding one APKINDEX record's text
// (with some padding to make files of one name differ); its identity is the
// SHA-1 of the whole file.

func fakeRead(_ context.Context, path string) (*index.Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	recs, err := index.ParseText(b)
	if err != nil {
		return nil, err
	}
	if len(recs) != 1 {
		return nil, fmt.Errorf("fake package with %d records", len(recs))
	}
	r := recs[0]
	r.Checksum = index.IdentityOf(b)
	r.Size = int64(len(b))
	return r, nil
}

// writeFake writes a fake package for name-version (arch x86_64 unless given)
// into dir, under its proper file name, and returns the path.
func writeFake(t testing.TB, dir, name, version string, extra ...string) string {
	if t != nil {
		t.Helper()
	}
	arch := "x86_64"
	var lines []string
	for _, e := range extra {
		if a, ok := strings.CutPrefix(e, "A:"); ok {
			arch = a
			continue
		}
		lines = append(lines, e)
	}
	text := fmt.Sprintf("P:%s\nV:%s\nA:%s\nI:100\nT:fake %s\nU:https://example.com/\nL:MIT\no:%s\n", name, version, arch, name, name)
	for _, l := range lines {
		text += l + "\n"
	}
	p := filepath.Join(dir, name+"-"+version+".apk")
	if err := os.WriteFile(p, []byte(text+"\n"), 0o644); err != nil {
		if t == nil {
			panic(err)
		}
		t.Fatal(err)
	}
	return p
}

func openFake(t testing.TB, dir string, opts Options) *Repo {
	t.Helper()
	r, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	r.read = fakeRead
	return r
}

// names lists the index's packages as name-version.
func names(t testing.TB, r *Repo) []string {
	t.Helper()
	ix, err := r.Index()
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, rec := range ix.Records {
		s = append(s, rec.Name+"-"+rec.Version)
	}
	return s
}

// snapshot returns every file in dir with its content, to check that a
// failed change left nothing behind.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == lockName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func TestAdd(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	dir := filepath.Join(t.TempDir(), "main", "x86_64")
	r := openFake(t, dir, Options{Description: "main test", Now: func() time.Time { return time.Unix(1700000000, 0) }})
	if r.Arch() != "x86_64" {
		t.Errorf("Arch = %q", r.Arch())
	}
	ctx := context.Background()

	a := writeFake(t, src, "zlib", "1.3-r0")
	b := writeFake(t, src, "busybox", "1.36-r0", "A:noarch", "D:so:libc.musl-x86_64.so.1")
	// The source file name does not matter: the package's P-V does.
	renamed := filepath.Join(src, "upload-1234")
	if err := os.Rename(b, renamed); err != nil {
		t.Fatal(err)
	}
	added, err := r.Add(ctx, a, renamed)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 2 || added[0].Record.Name != "zlib" || added[1].Record.Name != "busybox" {
		t.Fatalf("added %+v", added)
	}
	if added[1].Record.Arch != "x86_64" {
		t.Errorf("noarch package indexed as %q, want the repository's arch", added[1].Record.Arch)
	}
	if added[0].File != filepath.Join(r.Dir(), "zlib-1.3-r0.apk") || added[0].Unchanged {
		t.Errorf("added[0] = %+v", added[0])
	}
	if diff := cmp.Diff([]string{"busybox-1.36-r0", "zlib-1.3-r0"}, names(t, r)); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	want, _ := os.ReadFile(a)
	if got, err := os.ReadFile(added[0].File); err != nil || !bytes.Equal(got, want) {
		t.Errorf("package file not copied: %v", err)
	}

	// The index on disk reads back with the description and the records.
	f, err := os.Open(r.IndexPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix, err := index.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Description != "main test" || len(ix.Records) != 2 || !ix.ModTime.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("index on disk: %+v", ix)
	}
	if fi, _ := os.Stat(r.IndexPath()); fi.Mode().Perm() != 0o644 {
		t.Errorf("index mode %v, want 0644", fi.Mode().Perm())
	}

	// Adding the identical file again changes nothing, not even the index.
	before := snapshot(t, dir)
	fi1, _ := os.Stat(r.IndexPath())
	again, err := r.Add(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if !again[0].Unchanged {
		t.Errorf("identical Add not reported unchanged: %+v", again[0])
	}
	fi2, _ := os.Stat(r.IndexPath())
	if !os.SameFile(fi1, fi2) {
		t.Error("identical Add rewrote the index")
	}
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("directory changed (-before +after):\n%s", diff)
	}

	// A new version is added next to the old one.
	c := writeFake(t, src, "zlib", "1.3.1-r0")
	if _, err := r.Add(ctx, c); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"busybox-1.36-r0", "zlib-1.3-r0", "zlib-1.3.1-r0"}, names(t, r)); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}

	// An entry whose file went missing is replaced by a new file of that
	// name, even with other content.
	os.Remove(filepath.Join(r.Dir(), "busybox-1.36-r0.apk"))
	d := writeFake(t, t.TempDir(), "busybox", "1.36-r0", "D:changed")
	re, err := r.Add(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	ix2, _ := r.Index()
	if ix2.Records[0].Name != "busybox" || ix2.Records[0].Checksum != re[0].Record.Checksum || len(ix2.Records) != 3 {
		t.Errorf("stale entry not replaced: %+v", ix2.Records[0])
	}

	// Nothing to add is nothing to do.
	if got, err := r.Add(ctx); err != nil || got != nil {
		t.Errorf("Add() = %v, %v", got, err)
	}
}

func TestAddFailsAtomically(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name  string
		files func(src string) []string
		want  error
		msg   string
	}{
		{
			name: "different file of the same name",
			files: func(src string) []string {
				return []string{writeFake(t, src, "new", "1-r0"), writeFake(t, src, "zlib", "1.3-r0", "D:other")}
			},
			want: ErrConflict,
		},
		{
			name: "two different files for one package in one Add",
			files: func(src string) []string {
				a := writeFake(t, src, "twin", "1-r0")
				b := filepath.Join(src, "b")
				os.Rename(a, b)
				return []string{b, writeFake(t, src, "twin", "1-r0", "D:x")}
			},
			want: ErrConflict,
		},
		{
			name: "other architecture",
			files: func(src string) []string {
				return []string{writeFake(t, src, "new", "1-r0"), writeFake(t, src, "arm", "1-r0", "A:aarch64")}
			},
			want: ErrArch,
		},
		{
			name: "unsafe name",
			files: func(src string) []string {
				p := filepath.Join(src, "evil.apk")
				os.WriteFile(p, []byte("P:../../evil\nV:1-r0\nA:x86_64\n\n"), 0o644)
				return []string{writeFake(t, src, "new", "1-r0"), p}
			},
			want: ErrBadName,
		},
		{
			name: "unsafe version",
			files: func(src string) []string {
				p := filepath.Join(src, "evil.apk")
				os.WriteFile(p, []byte("P:evil\nV:1/../../x\nA:x86_64\n\n"), 0o644)
				return []string{p}
			},
			want: ErrBadName,
		},
		{
			name: "unreadable package",
			files: func(src string) []string {
				p := filepath.Join(src, "junk.apk")
				os.WriteFile(p, []byte("this is no package"), 0o644)
				return []string{writeFake(t, src, "new", "1-r0"), p}
			},
			msg: "not X:value",
		},
		{
			name: "missing file",
			files: func(src string) []string {
				return []string{writeFake(t, src, "new", "1-r0"), filepath.Join(src, "nope.apk")}
			},
			msg: "no such file",
		},
		{
			name: "directory",
			files: func(src string) []string {
				return []string{src}
			},
			msg: "not a regular file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, dir := t.TempDir(), filepath.Join(t.TempDir(), "x86_64")
			r := openFake(t, dir, Options{})
			if _, err := r.Add(ctx, writeFake(t, src, "zlib", "1.3-r0")); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			_, err := r.Add(ctx, tt.files(t.TempDir())...)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("failed Add changed the directory (-before +after):\n%s", diff)
			}
		})
	}
}

func TestAddIndexesFilesAlreadyThere(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "x86_64")
	os.MkdirAll(dir, 0o755)
	writeFake(t, dir, "old", "1-r0")
	writeFake(t, dir, "older", "2-r0")
	r := openFake(t, dir, Options{})
	src := writeFake(t, t.TempDir(), "new", "1-r0")
	if _, err := r.Add(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"new-1-r0", "old-1-r0", "older-2-r0"}, names(t, r)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The identical file already on disk but missing from the index gets
	// indexed, not refused.
	writeFake(t, dir, "stray", "1-r0")
	if _, err := r.Add(context.Background(), writeFake(t, t.TempDir(), "stray", "1-r0")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"new-1-r0", "old-1-r0", "older-2-r0", "stray-1-r0"}, names(t, r)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	setup := func(t *testing.T) *Repo {
		src := t.TempDir()
		r := openFake(t, filepath.Join(t.TempDir(), "x86_64"), Options{})
		if _, err := r.Add(ctx,
			writeFake(t, src, "a", "1-r0"), writeFake(t, src, "a", "2-r0"),
			writeFake(t, src, "b", "1-r0"), writeFake(t, src, "c", "1-r0")); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"every version of a name", []string{"a"}, []string{"b-1-r0", "c-1-r0"}},
		{"one version", []string{"a-2-r0"}, []string{"a-1-r0", "b-1-r0", "c-1-r0"}},
		{"a file name", []string{"a-1-r0.apk", "c"}, []string{"a-2-r0", "b-1-r0"}},
		{"nothing", nil, []string{"a-1-r0", "a-2-r0", "b-1-r0", "c-1-r0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := setup(t)
			if _, err := r.Remove(ctx, tt.args...); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(t, r)); diff != "" {
				t.Errorf("index (-want +got):\n%s", diff)
			}
			files, _ := r.packageFiles()
			var got []string
			for _, f := range files {
				got = append(got, strings.TrimSuffix(filepath.Base(f), ".apk"))
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("unknown name changes nothing", func(t *testing.T) {
		t.Parallel()
		r := setup(t)
		before := snapshot(t, r.Dir())
		_, err := r.Remove(ctx, "a", "zzz")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("error %v, want ErrNotFound", err)
		}
		if diff := cmp.Diff(before, snapshot(t, r.Dir())); diff != "" {
			t.Errorf("(-before +after):\n%s", diff)
		}
	})
}

// countingProgress counts what IndexFiles reports.
type countingProgress struct {
	mu           sync.Mutex
	read, reused []string
}

func (p *countingProgress) Package(file string, reused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if reused {
		p.reused = append(p.reused, filepath.Base(file))
	} else {
		p.read = append(p.read, filepath.Base(file))
	}
	sort.Strings(p.read)
	sort.Strings(p.reused)
}

func TestReindex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := t.TempDir()
	prog := &countingProgress{}
	r := openFake(t, filepath.Join(t.TempDir(), "x86_64"), Options{Progress: prog})
	if _, err := r.Add(ctx, writeFake(t, src, "a", "1-r0"), writeFake(t, src, "b", "1-r0"), writeFake(t, src, "c", "1-r0")); err != nil {
		t.Fatal(err)
	}

	// Nothing changed: every entry is reused.
	prog.read, prog.reused = nil, nil
	res, err := r.Reindex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 0 || res.Reused != 3 {
		t.Errorf("read %d, reused %d; want 0, 3", res.Read, res.Reused)
	}

	// A file changed by hand (newer than the index) is read again, a
	// deleted one leaves the index, a new one is read.
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(r.Dir(), "b-1-r0.apk"), future, future)
	os.Remove(filepath.Join(r.Dir(), "c-1-r0.apk"))
	writeFake(t, r.Dir(), "d", "1-r0")
	// Dot-files and other names are not packages.
	os.WriteFile(filepath.Join(r.Dir(), ".hidden.apk"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(r.Dir(), "README"), []byte("x"), 0o644)
	// A leftover temporary file from a crash is cleaned up once old.
	stale := filepath.Join(r.Dir(), tempPrefix+"add-1.apk")
	os.WriteFile(stale, []byte("x"), 0o644)
	past := time.Now().Add(-2 * staleTemp)
	os.Chtimes(stale, past, past)

	prog.read, prog.reused = nil, nil
	res, err = r.Reindex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 2 || res.Reused != 1 {
		t.Errorf("read %d, reused %d; want 2, 1", res.Read, res.Reused)
	}
	if diff := cmp.Diff([]string{"b-1-r0.apk", "d-1-r0.apk"}, prog.read); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a-1-r0.apk"}, prog.reused); diff != "" {
		t.Errorf("reused (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a-1-r0", "b-1-r0", "d-1-r0"}, names(t, r)); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file left: %v", err)
	}

	// A file not named after its content is refused.
	b, _ := os.ReadFile(filepath.Join(r.Dir(), "a-1-r0.apk"))
	os.WriteFile(filepath.Join(r.Dir(), "wrong-9-r0.apk"), b, 0o644)
	if _, err := r.Reindex(ctx); !errors.Is(err, ErrBadName) {
		t.Errorf("error %v, want ErrBadName", err)
	}
	os.Remove(filepath.Join(r.Dir(), "wrong-9-r0.apk"))

	// A broken index is rebuilt from the files.
	os.WriteFile(r.IndexPath(), []byte("garbage"), 0o644)
	if _, err := r.Add(ctx, writeFake(t, src, "e", "1-r0")); err == nil {
		t.Error("Add over a broken index did not fail")
	}
	if _, err := r.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a-1-r0", "b-1-r0", "d-1-r0"}, names(t, r)); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
}

func TestIndexFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	a := writeFake(t, dir, "a", "1-r0", "A:noarch")
	b := writeFake(t, dir, "b", "1-r0")
	res, err := IndexFiles(ctx, []string{b, a}, IndexOptions{read: fakeRead, RewriteArch: "armv7"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 2 || res.Records[0].Name != "a" || res.Records[0].Arch != "armv7" || res.Records[1].Arch != "armv7" {
		t.Errorf("result %+v", res)
	}

	// Reuse needs the same file name, the same size and an old index at
	// least as new as the file.
	old := &index.Index{Records: res.Records}
	now := time.Now()
	for _, tt := range []struct {
		name     string
		oldTime  time.Time
		size     int64
		wantRead int
	}{
		{"unchanged", now.Add(time.Minute), 0, 0},
		{"index older than files", now.Add(-time.Hour), 0, 2},
		{"size differs", now.Add(time.Minute), 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := &index.Index{}
			for _, rec := range old.Records {
				c := rec.Clone()
				c.Size += tt.size
				o.Records = append(o.Records, c)
			}
			res, err := IndexFiles(ctx, []string{a, b}, IndexOptions{read: fakeRead, Old: o, OldModTime: tt.oldTime})
			if err != nil {
				t.Fatal(err)
			}
			if res.Read != tt.wantRead || res.Reused != 2-tt.wantRead {
				t.Errorf("read %d reused %d, want read %d", res.Read, res.Reused, tt.wantRead)
			}
		})
	}

	// The same package twice is an error.
	c := filepath.Join(t.TempDir(), "copy.apk")
	data, _ := os.ReadFile(a)
	os.WriteFile(c, data, 0o644)
	if _, err := IndexFiles(ctx, []string{a, c}, IndexOptions{read: fakeRead}); !errors.Is(err, ErrConflict) {
		t.Errorf("error %v, want ErrConflict", err)
	}
}

func TestLockCancel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unlock, err := LockDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := openFake(t, dir, Options{Arch: "x86_64"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = r.Add(ctx, writeFake(t, t.TempDir(), "a", "1-r0"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want DeadlineExceeded", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	// The lock is free again afterwards.
	if _, err := r.Add(context.Background(), writeFake(t, t.TempDir(), "a", "1-r0")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 { // lock, index, package
		t.Errorf("directory holds %d entries, want 3 (no temporary files)", len(ents))
	}
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("old"), 0o600)
	err := WriteFile(p, 0o644, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("boom")
	})
	if err == nil || err.Error() != "boom" {
		t.Errorf("error %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("content %q after a failed write", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary file left behind: %d entries", len(ents))
	}
	if err := WriteFile(p, 0o644, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("content %q", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	if _, err := Open(t.TempDir(), Options{Arch: "../x"}); err == nil {
		t.Error("bad arch accepted")
	}
	r, err := Open(filepath.Join(t.TempDir(), "community", "aarch64"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Arch() != "aarch64" {
		t.Errorf("Arch = %q", r.Arch())
	}
	ix, err := r.Index()
	if err != nil || len(ix.Records) != 0 {
		t.Errorf("empty repository: %v, %v", ix, err)
	}
}

// Concurrency: goroutines and processes adding at once lose no entry.

const helperEnv = "APKIT_REPO_TEST_HELPER"

// TestMain lets the test binary act as a helper process that adds packages.
func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(helperAdd(spec))
	}
	if spec := os.Getenv(crashEnv); spec != "" {
		os.Exit(crashHelper(spec))
	}
	os.Exit(m.Run())
}

// helperAdd adds n fake packages named prefix-i to dir, one Add each.
func helperAdd(spec string) int {
	parts := strings.SplitN(spec, "|", 4)
	dir, src, prefix := parts[0], parts[1], parts[2]
	n, _ := strconv.Atoi(parts[3])
	r, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r.read = fakeRead
	for i := range n {
		p := writeFake(nil, src, fmt.Sprintf("%s-%d", prefix, i), "1-r0")
		if _, err := r.Add(context.Background(), p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestConcurrentAdds(t *testing.T) {
	t.Parallel()
	const (
		procs      = 3
		goroutines = 4
		each       = 8
	)
	dir := filepath.Join(t.TempDir(), "x86_64")
	os.MkdirAll(dir, 0o755)
	var want []string

	var cmds []*exec.Cmd
	for p := range procs {
		prefix := fmt.Sprintf("proc%d", p)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join([]string{dir, t.TempDir(), prefix, strconv.Itoa(each)}, "|"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		for i := range each {
			want = append(want, fmt.Sprintf("%s-%d-1-r0", prefix, i))
		}
	}

	// Goroutines share one Repo, or each has its own.
	shared := openFake(t, dir, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		prefix := fmt.Sprintf("goroutine%d", g)
		for i := range each {
			want = append(want, fmt.Sprintf("%s-%d-1-r0", prefix, i))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := shared
			if g%2 == 1 {
				r = openFake(t, dir, Options{})
			}
			src := t.TempDir()
			for i := range each {
				p := writeFake(t, src, fmt.Sprintf("%s-%d", prefix, i), "1-r0")
				if _, err := r.Add(context.Background(), p); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper process: %v: %s", err, cmd.Stderr)
		}
	}

	sort.Strings(want)
	got := names(t, openFake(t, dir, Options{}))
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lost entries (-want +got):\n%s", diff)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != len(want)+2 { // packages, index, lock
		t.Errorf("%d files in the repository, want %d", len(files), len(want)+2)
	}
}

// TestAddReadsOnlyNewPackages: adding one package to a repository of many
// reads that one package, whether or not the Repo saw the index before.
func TestAddReadsOnlyNewPackages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := t.TempDir()
	dir := filepath.Join(t.TempDir(), "x86_64")
	r := openFake(t, dir, Options{})
	var paths []string
	for i := range 50 {
		paths = append(paths, writeFake(t, src, fmt.Sprintf("p%02d", i), "1-r0"))
	}
	if _, err := r.Add(ctx, paths...); err != nil {
		t.Fatal(err)
	}
	for _, fresh := range []bool{false, true} {
		if fresh {
			r = openFake(t, dir, Options{})
		}
		var reads atomic.Int64
		r.read = func(ctx context.Context, path string) (*index.Record, error) {
			reads.Add(1)
			return fakeRead(ctx, path)
		}
		if _, err := r.Add(ctx, writeFake(t, src, fmt.Sprintf("new-%v", fresh), "1-r0")); err != nil {
			t.Fatal(err)
		}
		if n := reads.Load(); n != 1 {
			t.Errorf("fresh Repo %v: %d packages read, want 1", fresh, n)
		}
	}
	if got := len(names(t, r)); got != 52 {
		t.Errorf("%d records, want 52", got)
	}
}

// TestRemoveStaysInside: an index written elsewhere that names a file
// outside the directory loses the entry, and nothing outside is deleted.
func TestRemoveStaysInside(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "x86_64")
	os.MkdirAll(dir, 0o755)
	victim := filepath.Join(base, "victim-1-r0.apk")
	os.WriteFile(victim, []byte("keep me"), 0o644)
	ix := &index.Index{Records: []*index.Record{{Checksum: "Q1qZk+NkcGgWq6PiVxeFDCbJzQ2J0=", Name: "../victim", Version: "1-r0", Arch: "x86_64"}}}
	if err := WriteFile(filepath.Join(dir, IndexName), 0o644, func(w io.Writer) error { return index.Write(w, ix) }); err != nil {
		t.Fatal(err)
	}
	r := openFake(t, dir, Options{})
	if _, err := r.Remove(context.Background(), "../victim"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me" {
		t.Errorf("file outside the repository touched: %v", err)
	}
	if got := names(t, r); len(got) != 0 {
		t.Errorf("entry kept: %v", got)
	}
}
