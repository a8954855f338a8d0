package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/sorairolake/lzip-go"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
	"golang.org/x/sys/unix"
)

// Format is an archive or compression format, as recognised from a file name.
type Format string

// The formats [Unpack] knows. Archive formats hold a tree of files; the
// compression formats on their own hold one file.
const (
	FormatNone    Format = ""
	FormatTar     Format = "tar"
	FormatTarGz   Format = "tar.gz"
	FormatTarBz2  Format = "tar.bz2"
	FormatTarXz   Format = "tar.xz"
	FormatTarZst  Format = "tar.zst"
	FormatTarLz   Format = "tar.lz"
	FormatTarLzma Format = "tar.lzma"
	FormatZip     Format = "zip"
	FormatGz      Format = "gz"
	FormatBz2     Format = "bz2"
	FormatXz      Format = "xz"
	FormatZst     Format = "zst"
	FormatLz      Format = "lz"
	FormatLzma    Format = "lzma"
)

var suffixes = []struct {
	suffix string
	format Format
}{
	{".tar", FormatTar},
	{".tar.gz", FormatTarGz}, {".tgz", FormatTarGz},
	{".tar.bz2", FormatTarBz2}, {".tbz2", FormatTarBz2}, {".tbz", FormatTarBz2},
	{".tar.xz", FormatTarXz}, {".txz", FormatTarXz},
	{".tar.zst", FormatTarZst}, {".tzst", FormatTarZst},
	{".tar.lz", FormatTarLz},
	{".tar.lzma", FormatTarLzma},
	{".zip", FormatZip},
	{".gz", FormatGz}, {".bz2", FormatBz2}, {".xz", FormatXz},
	{".zst", FormatZst}, {".lz", FormatLz}, {".lzma", FormatLzma},
}

// FormatOf returns the format a file name announces, or FormatNone.
// Matching is by suffix, case-insensitively, longest first.
func FormatOf(name string) Format {
	lower := strings.ToLower(name)
	best := FormatNone
	bestLen := 0
	for _, s := range suffixes {
		if strings.HasSuffix(lower, s.suffix) && len(s.suffix) > bestLen && len(lower) > len(s.suffix) {
			best, bestLen = s.format, len(s.suffix)
		}
	}
	return best
}

// IsArchive reports whether f holds a tree of files (tar in any
// compression, or zip): the formats abuild's default unpack extracts.
func (f Format) IsArchive() bool {
	return f == FormatZip || strings.HasPrefix(string(f), "tar")
}

// Default limits of [UnpackOptions].
const (
	DefaultMaxBytes   = 32 << 30
	DefaultMaxEntries = 2 << 20
)

// UnpackOptions bound what [Unpack] writes. Zero values mean the defaults.
type UnpackOptions struct {
	// MaxBytes bounds the bytes written in total (default 32 GiB): a
	// decompression bomb fails with [ErrTooLarge] instead of filling the disk.
	MaxBytes int64
	// MaxEntries bounds the number of entries (default 2M).
	MaxEntries int
	// PureGo never runs an external decompressor. By default xz and bzip2
	// streams are decoded by the xz and bzip2 (or lbzip2) programs when
	// they are installed, as tar does, because the Go decoders are several
	// times slower; the pure Go decoders serve when they are not, decoding
	// the blocks of a multi-block xz file in parallel.
	PureGo bool
}

// ErrUnsafeArchive is the sentinel of every [*UnsafeError].
var ErrUnsafeArchive = errors.New("unsafe archive")

// ErrTooLarge says an archive expands beyond [UnpackOptions] limits. It
// is wrapped in an [*UnsafeError].
var ErrTooLarge = errors.New("archive expands beyond the limit")

// UnsafeError is an archive entry refused because it would write outside
// the destination, create a device node, or exceed a limit.
type UnsafeError struct {
	Entry  string // the entry's name as the archive spells it
	Reason string // why the entry was refused
	Err    error  // ErrTooLarge for limits, else nil
}

// Error names the entry and says why it was refused.
func (e *UnsafeError) Error() string {
	return fmt.Sprintf("entry %q: %s", e.Entry, e.Reason)
}

// Is makes errors.Is(err, ErrUnsafeArchive) true, and errors.Is(err,
// ErrTooLarge) for limit errors.
func (e *UnsafeError) Is(target error) bool {
	return target == ErrUnsafeArchive || (e.Err != nil && target == e.Err)
}

// Unpack extracts the archive or compressed file at archivePath into
// destDir, creating destDir when missing. The format comes from the file
// name ([FormatOf]); a single compressed file is written to destDir under
// its name without the compression suffix. Archives are hostile input:
// absolute names, ".." escapes, writes through symlinks that lead out of
// destDir, device nodes and expansion past the limits are refused with an
// [*UnsafeError] and nothing is written outside destDir. Modes (without
// setuid, setgid and sticky bits), symlinks, hard links and mtimes are
// kept. Existing files are replaced, as tar does, except for zip
// archives, whose existing files are kept, as "unzip -n" does.
func Unpack(ctx context.Context, archivePath, destDir string, opts UnpackOptions) error {
	format := FormatOf(filepath.Base(archivePath))
	if format == FormatNone {
		return fmt.Errorf("unpack %s: not an archive or compressed file", archivePath)
	}
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return fmt.Errorf("unpack %s: %w", archivePath, err)
	}
	var err error
	if format == FormatZip {
		err = unpackZip(ctx, archivePath, destDir, opts)
	} else {
		var f *os.File
		f, err = os.Open(archivePath)
		if err != nil {
			return fmt.Errorf("unpack %s: %w", archivePath, err)
		}
		defer f.Close()
		if format.IsArchive() {
			err = UnpackTar(ctx, f, format, destDir, opts)
		} else {
			name := filepath.Base(archivePath)
			name = name[:len(name)-len(string(format))-1]
			err = decompressFile(ctx, f, format, filepath.Join(destDir, name), opts)
		}
	}
	if err != nil {
		return fmt.Errorf("unpack %s: %w", filepath.Base(archivePath), err)
	}
	return nil
}

// Decompress returns a reader of the data that r holds compressed in
// format f (a tar format is decompressed to its tar stream). Close the
// result to release the decoder. Decoding runs ahead of the reader in its
// own goroutine, so that decompressing and writing overlap.
func Decompress(r io.Reader, f Format) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		dr      io.Reader
		closeFn func()
	)
	switch strings.TrimPrefix(string(f), "tar.") {
	case "tar":
		return io.NopCloser(br), nil
	case "gz":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		dr, closeFn = zr, func() { zr.Close() }
	case "bz2":
		dr = bzip2.NewReader(br)
	case "xz":
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, err
		}
		dr = zr
	case "zst":
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(1<<31), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		dr, closeFn = zr, zr.Close
	case "lz":
		zr, err := lzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		dr = zr
	case "lzma":
		zr, err := lzma.NewReader(br)
		if err != nil {
			return nil, err
		}
		dr = zr
	default:
		return nil, fmt.Errorf("unknown compression %q", f)
	}
	return newReadAhead(dr, closeFn), nil
}

// UnpackTar extracts the tar stream r, compressed as format says (one of
// the tar formats), into destDir with the defences of [Unpack].
func UnpackTar(ctx context.Context, r io.Reader, format Format, destDir string, opts UnpackOptions) error {
	dr, err := decompress(ctx, r, format, opts)
	if err != nil {
		return err
	}
	defer dr.Close()
	x, err := newExtractor(destDir, opts)
	if err != nil {
		return err
	}
	defer x.close()
	tr := tar.NewReader(dr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
	// Drain what follows the end-of-archive blocks so that a corrupt
	// compressed stream is noticed.
	if _, err := io.Copy(io.Discard, dr); err != nil {
		return err
	}
	return x.finish()
}

func unpackZip(ctx context.Context, archivePath, destDir string, opts UnpackOptions) error {
	zr, err := zip.OpenReader(archivePath)
	if err != nil {
		return err
	}
	defer zr.Close()
	x, err := newExtractor(destDir, opts)
	if err != nil {
		return err
	}
	defer x.close()
	x.keepExisting = true
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		mode := f.Mode()
		hdr := &tar.Header{Name: f.Name, Mode: int64(mode.Perm()), ModTime: f.Modified}
		var body io.Reader
		switch {
		case mode.IsDir():
			hdr.Typeflag = tar.TypeDir
		case mode&fs.ModeSymlink != 0:
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("entry %q: %w", f.Name, err)
			}
			target, err := io.ReadAll(io.LimitReader(rc, 4096))
			rc.Close()
			if err != nil {
				return fmt.Errorf("entry %q: %w", f.Name, err)
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(target)
		case mode.IsRegular():
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("entry %q: %w", f.Name, err)
			}
			hdr.Typeflag = tar.TypeReg
			body = rc
			err = x.entry(hdr, body)
			rc.Close()
			if err != nil {
				return err
			}
			continue
		default:
			hdr.Typeflag = tar.TypeChar // refused by entry as a special file
		}
		if err := x.entry(hdr, body); err != nil {
			return err
		}
	}
	return x.finish()
}

// decompressFile writes the decompressed content of r to dst, through a
// temporary file and a rename.
func decompressFile(ctx context.Context, r io.Reader, format Format, dst string, opts UnpackOptions) error {
	dr, err := decompress(ctx, r, format, opts)
	if err != nil {
		return err
	}
	defer dr.Close()
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(&ctxReader{ctx, dr}, max+1))
	if err == nil && n > max {
		err = &UnsafeError{Entry: filepath.Base(dst), Reason: fmt.Sprintf("expands beyond %d bytes", max), Err: ErrTooLarge}
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// extractor writes archive entries below one root directory. Every
// path is resolved through os.Root, which refuses to leave the root by
// ".." or by a symlink. Directories are opened once, as sub-roots, and
// kept while the archive writes into them, so that writing a file costs
// a few syscalls on one name rather than a walk of its whole path.
type extractor struct {
	root         *os.Root
	maxBytes     int64
	maxEntries   int
	written      int64
	entries      int
	keepExisting bool
	buf          []byte
	dirs         []dirMeta
	open         map[string]*os.Root // directory (cleaned, relative) -> handle
}

type dirMeta struct {
	name  string
	mode  fs.FileMode
	mtime time.Time
}

// maxOpenDirs bounds the directory handles kept open at once.
const maxOpenDirs = 64

func newExtractor(destDir string, opts UnpackOptions) (*extractor, error) {
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(destDir)
	if err != nil {
		return nil, err
	}
	x := &extractor{root: root, maxBytes: opts.MaxBytes, maxEntries: opts.MaxEntries,
		buf: make([]byte, 256<<10), open: map[string]*os.Root{}}
	if x.maxBytes <= 0 {
		x.maxBytes = DefaultMaxBytes
	}
	if x.maxEntries <= 0 {
		x.maxEntries = DefaultMaxEntries
	}
	return x, nil
}

func (x *extractor) close() {
	x.forget()
	x.root.Close()
}

// forget closes every cached directory handle. It is called whenever a
// symlink is removed, since a cached path may have led through it.
func (x *extractor) forget() {
	for k, r := range x.open {
		r.Close()
		delete(x.open, k)
	}
}

// dir returns a handle on directory name (relative, cleaned; "." is the
// root), creating it and its parents when missing.
func (x *extractor) dir(name string) (*os.Root, error) {
	if name == "." || name == "" {
		return x.root, nil
	}
	if r, ok := x.open[name]; ok {
		return r, nil
	}
	if err := x.root.MkdirAll(name, 0o755); err != nil {
		return nil, err
	}
	r, err := x.root.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	if len(x.open) >= maxOpenDirs {
		x.forget()
	}
	x.open[name] = r
	return r, nil
}

// symlinkTime sets the mtime of the symlink name itself, through a
// handle on its directory, never following the link.
func (x *extractor) symlinkTime(name string, mtime time.Time) error {
	if mtime.IsZero() {
		return nil
	}
	dir, err := x.root.Open(path.Dir(name))
	if err != nil {
		return err
	}
	defer dir.Close()
	ts := unix.NsecToTimespec(mtime.UnixNano())
	err = unix.UtimesNanoAt(int(dir.Fd()), path.Base(name), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENOSYS) {
		return nil
	}
	return err
}

// finish applies directory modes and mtimes, deepest first.
func (x *extractor) finish() error {
	x.forget()
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		if err := x.root.Chmod(d.name, d.mode); err != nil {
			return x.wrap(d.name, err)
		}
		if !d.mtime.IsZero() {
			if err := x.root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
				return x.wrap(d.name, err)
			}
		}
	}
	return nil
}

// localName checks an entry name and returns it cleaned, relative to the
// root ("" for the root itself).
func localName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", &UnsafeError{Entry: name, Reason: "name contains a NUL byte"}
	}
	if strings.HasPrefix(name, "/") {
		return "", &UnsafeError{Entry: name, Reason: "absolute path"}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", &UnsafeError{Entry: name, Reason: "path escapes the destination with .."}
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", &UnsafeError{Entry: name, Reason: "path contains a .. component"}
		}
	}
	return clean, nil
}

// wrap turns an os.Root escape refusal into an UnsafeError.
func (x *extractor) wrap(name string, err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "escapes from parent") {
		return &UnsafeError{Entry: name, Reason: "write through a symlink leading outside the destination"}
	}
	var ue *UnsafeError
	if errors.As(err, &ue) {
		return err
	}
	return fmt.Errorf("entry %q: %w", name, err)
}

// clear removes what is at base in d so that a new entry can take its
// place, and reports whether something was kept there instead (zip
// archives keep existing files). A non-empty directory is an error.
func (x *extractor) clear(d *os.Root, base string) (kept bool, err error) {
	fi, err := d.Lstat(base)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if x.keepExisting {
		return true, nil
	}
	if fi.IsDir() {
		return false, fmt.Errorf("a directory is in the way")
	}
	if err := d.Remove(base); err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		x.forget()
	}
	return false, nil
}

// place returns the handle of the directory that will hold name and
// name's last element, with whatever was at name out of the way.
func (x *extractor) place(name string) (d *os.Root, base string, kept bool, err error) {
	d, err = x.dir(path.Dir(name))
	if err != nil {
		return nil, "", false, err
	}
	base = path.Base(name)
	kept, err = x.clear(d, base)
	return d, base, kept, err
}

func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
		return nil
	}
	x.entries++
	if x.entries > x.maxEntries {
		return &UnsafeError{Entry: hdr.Name, Reason: fmt.Sprintf("more than %d entries", x.maxEntries), Err: ErrTooLarge}
	}
	name, err := localName(hdr.Name)
	if err != nil {
		return err
	}
	perm := fs.FileMode(hdr.Mode) & fs.ModePerm
	switch hdr.Typeflag {
	case tar.TypeDir:
		if name == "" {
			return nil
		}
		d, err := x.dir(path.Dir(name))
		if err != nil {
			return x.wrap(hdr.Name, err)
		}
		base := path.Base(name)
		if err := d.Mkdir(base, 0o755); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return x.wrap(hdr.Name, err)
			}
			fi, err := d.Lstat(base)
			if err != nil {
				return x.wrap(hdr.Name, err)
			}
			if !fi.IsDir() {
				// A symlink (to a directory, or anything) or a file stands
				// there: leave it, as tar does with a symlink to a directory.
				if fi.Mode()&fs.ModeSymlink != 0 {
					return nil
				}
				return x.wrap(hdr.Name, fmt.Errorf("a file is in the way of a directory"))
			}
		}
		// Keep the directory writable while it fills; its own mode is
		// set when everything is in place.
		if err := d.Chmod(base, perm|0o700); err != nil {
			return x.wrap(hdr.Name, err)
		}
		x.dirs = append(x.dirs, dirMeta{name, perm, hdr.ModTime})
		return nil
	case tar.TypeReg, tar.TypeGNUSparse: // the reader turns the old TypeRegA into TypeReg
		if name == "" {
			return &UnsafeError{Entry: hdr.Name, Reason: "a file cannot replace the destination"}
		}
		d, err := x.dir(path.Dir(name))
		if err != nil {
			return x.wrap(hdr.Name, err)
		}
		base := path.Base(name)
		f, err := d.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			kept, cerr := x.clear(d, base)
			if cerr != nil || kept {
				return x.wrap(hdr.Name, cerr)
			}
			if d, err = x.dir(path.Dir(name)); err == nil { // clear may forget d
				f, err = d.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			}
		}
		if err != nil {
			return x.wrap(hdr.Name, err)
		}
		remaining := x.maxBytes - x.written
		n, err := io.CopyBuffer(f, io.LimitReader(body, remaining+1), x.buf)
		x.written += n
		if err == nil && n > remaining {
			err = &UnsafeError{Entry: hdr.Name, Reason: fmt.Sprintf("archive expands beyond %d bytes", x.maxBytes), Err: ErrTooLarge}
		}
		if err == nil {
			err = f.Chmod(perm)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return x.wrap(hdr.Name, err)
		}
		if !hdr.ModTime.IsZero() {
			if err := d.Chtimes(base, hdr.ModTime, hdr.ModTime); err != nil {
				return x.wrap(hdr.Name, err)
			}
		}
		return nil
	case tar.TypeSymlink:
		if name == "" || hdr.Linkname == "" {
			return &UnsafeError{Entry: hdr.Name, Reason: "bad symlink"}
		}
		d, base, kept, err := x.place(name)
		if err != nil || kept {
			return x.wrap(hdr.Name, err)
		}
		if err := d.Symlink(hdr.Linkname, base); err != nil {
			return x.wrap(hdr.Name, err)
		}
		return x.wrap(hdr.Name, x.symlinkTime(name, hdr.ModTime))
	case tar.TypeLink:
		target, err := localName(hdr.Linkname)
		if err != nil || target == "" {
			return &UnsafeError{Entry: hdr.Name, Reason: fmt.Sprintf("hard link to %q outside the destination", hdr.Linkname)}
		}
		if name == "" {
			return &UnsafeError{Entry: hdr.Name, Reason: "a link cannot replace the destination"}
		}
		_, _, kept, err := x.place(name)
		if err != nil || kept {
			return x.wrap(hdr.Name, err)
		}
		return x.wrap(hdr.Name, x.root.Link(target, name))
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return &UnsafeError{Entry: hdr.Name, Reason: "device node or special file"}
	default:
		// Unknown entry types (vendor extensions) carry nothing to write.
		return nil
	}
}
