package apk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// Compression levels for [Input].Level. LevelDefault and LevelBest use
// apkit's own deflate encoder (lazy matching on 3-byte hash chains, as
// zlib); levels 1 to 9 are klauspost/compress deflate levels. All compress
// in parallel and give the same bytes whatever the number of workers.
const (
	// LevelDefault trades a little size for speed: on a real tree
	// (Go's installation) about 1.6% larger than pigz -9 (abuild's
	// setting), about five times as fast as abuild's pipeline.
	LevelDefault = 0
	// LevelBest is within 0.1% of gzip -9's size, in half its time.
	LevelBest = 10
)

// Settings of apkit's encoder (zlib's good, lazy, nice and chain).
var (
	defaultParams = dfParams{good: 8, lazy: 16, nice: 48, chain: 24}
	bestParams    = dfParams{good: 32, lazy: 128, nice: 258, chain: 1024}
)

// Progress receives the progress of [Write]. It is called from one
// goroutine at a time.
type Progress interface {
	// Packaged is called after each data entry with the number of entries
	// and of bytes of file content written so far.
	Packaged(entries, bytes int64)
}

// Input is what [Write] makes a package of.
type Input struct {
	// Info is the package metadata. Write fills in Size (the installed
	// size of Dir) and DataHash; the caller's value is not changed.
	Info PkgInfo
	// Scripts are the control scripts (.pre-install, .trigger, ...), in
	// the order they are written after .PKGINFO.
	Scripts []Script
	// Dir is the staged tree ($pkgdir). Top-level dot-names are left out.
	Dir string
	// Key signs the package; nil writes an unsigned package.
	Key *sign.PrivateKey
	// Algorithm is the signature algorithm; "" means sign.RSA256.
	Algorithm sign.Algorithm
	// ModTime is the time of every entry (SOURCE_DATE_EPOCH); the zero
	// value means Info.BuildDate.
	ModTime time.Time
	// Owner maps a path's owner on disk to the owner written; nil writes
	// root:root (0:0) for everything.
	Owner func(path string, uid, gid int) (Owner, error)
	// Level is the compression level: LevelDefault, LevelBest, or 1-9 for
	// klauspost/compress's levels.
	Level int
	// Workers is the number of compression goroutines; 0 means GOMAXPROCS.
	Workers int
	// TempDir holds the data segment while the control segment is made;
	// "" means os.TempDir().
	TempDir string
	// Progress, when set, is told how far the data segment is.
	Progress Progress
	// ListFiles makes Write return every data entry in Package.Files.
	// Without it, memory does not grow with the number of files.
	ListFiles bool
}

// Write makes a v2 package of in and writes it to w: the signature
// segment (when in.Key is set), the control segment (.PKGINFO and
// scripts) and the data segment (in.Dir with a SHA-1 record per file and
// symlink). The output depends only on the tree, the metadata, the key,
// the level and the time: never on the number of workers. The data
// segment is staged in a temporary file, so memory stays bounded whatever
// the tree's size. It returns what a [Read] of the result would record
// (without the Files' content checks).
func Write(w io.Writer, in *Input) (*Package, error) {
	info := in.Info
	alg := in.Algorithm
	if alg == "" {
		alg = sign.RSA256
	}
	if in.Key != nil && alg.Hash() == 0 {
		return nil, fmt.Errorf("write package: unknown signature algorithm %q", alg)
	}
	for _, s := range in.Scripts {
		if !strings.HasPrefix(s.Name, ".") || strings.Contains(s.Name, "/") || s.Name == ".PKGINFO" || strings.HasPrefix(s.Name, sign.SignaturePrefix) {
			return nil, fmt.Errorf("write package: %q is not a control script name", s.Name)
		}
	}
	if _, err := info.MarshalText(); err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	}
	mtime := in.ModTime
	if mtime.IsZero() {
		mtime = time.Unix(info.BuildDate, 0)
	}
	level := in.Level
	var params *dfParams
	switch {
	case level == LevelDefault:
		params = &defaultParams
	case level == LevelBest:
		params = &bestParams
	case level < 1 || level > 9:
		return nil, fmt.Errorf("write package: compression level %d is not 0 (default), 1-9 or 10 (best)", level)
	}

	spool, err := os.CreateTemp(in.TempDir, "apkit-data-*")
	if err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	dataHash := sha256.New()
	counter := &countWriter{}
	z, err := newParallelGzip(io.MultiWriter(spool, dataHash, counter), level, params, in.Workers)
	if err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	}
	dw := &dataWriter{tw: tar.NewWriter(z), h: sha1.New(), buf: make([]byte, 0, 64<<10), progress: in.Progress, list: in.ListFiles}
	size, count, err := walkTree(in.Dir, in.Owner, mtime.Unix(), dw.write)
	if err == nil {
		err = dw.tw.Close()
	}
	if err != nil {
		z.Close()
		return nil, fmt.Errorf("write package: %w", err)
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("write package: data segment: %w", err)
	}
	if size == 0 && (count > 0 || len(in.Scripts) > 0) {
		size = 1 // 0 would make apk treat the package as virtual
	}
	info.Size = size
	p := &Package{Files: dw.files}
	copy(p.DataSHA256[:], dataHash.Sum(nil))
	info.DataHash = hex.EncodeToString(p.DataSHA256[:])

	ctl, err := controlMember(&info, in.Scripts, mtime)
	if err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	}
	p.Info = &info
	p.ControlSHA1 = sha1.Sum(ctl)
	var sigMember bytes.Buffer
	if in.Key != nil {
		sig, err := in.Key.SignBytes(alg, ctl)
		if err != nil {
			return nil, fmt.Errorf("write package: %w", err)
		}
		if err := sign.WriteSignatureMember(&sigMember, []sign.Signature{sig}, mtime); err != nil {
			return nil, fmt.Errorf("write package: %w", err)
		}
		p.Signatures = []sign.Signature{sig}
	}
	p.Signature = Segment{0, int64(sigMember.Len())}
	p.Control = Segment{p.Signature.Length, int64(len(ctl))}
	p.Data = Segment{p.Control.Offset + p.Control.Length, counter.n}
	p.Size = p.Data.Offset + p.Data.Length

	if _, err := w.Write(sigMember.Bytes()); err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	}
	if _, err := w.Write(ctl); err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	}
	if n, err := io.Copy(w, spool); err != nil {
		return nil, fmt.Errorf("write package: %w", err)
	} else if n != counter.n {
		return nil, fmt.Errorf("write package: data segment changed size while staged")
	}
	return p, nil
}

// controlMember returns the control segment: .PKGINFO then the scripts,
// owned by root, without end-of-archive blocks, as one gzip member.
func controlMember(info *PkgInfo, scripts []Script, mtime time.Time) ([]byte, error) {
	text, err := info.MarshalText()
	if err != nil {
		return nil, err
	}
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	add := func(name string, mode int64, data []byte) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)),
			ModTime: time.Unix(mtime.Unix(), 0), Uname: "root", Gname: "root",
			Format: tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("control segment: %s: %w", name, err)
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add(".PKGINFO", 0o644, text); err != nil {
		return nil, err
	}
	for _, s := range scripts {
		mode := int64(s.Mode)
		if mode == 0 {
			mode = 0o755
		}
		if err := add(s.Name, mode, s.Data); err != nil {
			return nil, err
		}
	}
	// Flush, not Close: no end-of-archive blocks in this segment.
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// inMemoryLimit is the largest file read into memory once; larger files
// are read twice (hash, then copy) so memory stays bounded.
const inMemoryLimit = 4 << 20

// dataWriter writes the data tar, one entry at a time.
type dataWriter struct {
	tw       *tar.Writer
	h        hash.Hash
	buf      []byte
	progress Progress
	list     bool
	files    []File
	entries  int64
	bytes    int64
}

// write writes the tar entry of e: a PAX header with the checksum and
// xattrs, the header, the content.
func (dw *dataWriter) write(e *treeEntry) error {
	hdr := &tar.Header{
		Name:     e.Path,
		Mode:     int64(e.Mode),
		Uid:      e.Uid,
		Gid:      e.Gid,
		Uname:    e.Uname,
		Gname:    e.Gname,
		ModTime:  time.Unix(e.ModTime, 0),
		Devmajor: e.DevMajor,
		Devminor: e.DevMinor,
		Format:   tar.FormatPAX,
	}
	var records map[string]string
	if len(e.Xattrs) > 0 {
		records = map[string]string{}
		for k, v := range e.Xattrs {
			records[xattrPrefix+k] = v
		}
	}
	var content []byte
	var big *os.File
	switch e.Kind {
	case KindDir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case KindRegular:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = e.Size
		var sum string
		var err error
		if e.Size <= inMemoryLimit {
			dw.buf, sum, err = readSmall(e.abs, e.Size, dw.buf[:0], dw.h)
			content = dw.buf
		} else {
			big, sum, err = hashBig(e.abs, e.Size, dw.h)
		}
		if err != nil {
			return err
		}
		e.Checksum = sum
	case KindHardLink:
		hdr.Typeflag = tar.TypeLink
		hdr.Linkname = e.Link
	case KindSymlink:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = e.Link
		s := sha1.Sum([]byte(e.Link))
		e.Checksum = hex.EncodeToString(s[:])
	case KindChar:
		hdr.Typeflag = tar.TypeChar
	case KindBlock:
		hdr.Typeflag = tar.TypeBlock
	case KindFIFO:
		hdr.Typeflag = tar.TypeFifo
	}
	if e.Checksum != "" {
		if records == nil {
			records = map[string]string{}
		}
		records[ChecksumKey] = e.Checksum
	}
	hdr.PAXRecords = records
	if err := dw.tw.WriteHeader(hdr); err != nil {
		closeFile(big)
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	if big != nil {
		n, err := io.Copy(dw.tw, big)
		big.Close()
		if err == nil && n != e.Size {
			err = fmt.Errorf("changed size while packaged")
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
	} else if content != nil {
		if _, err := dw.tw.Write(content); err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
	}
	dw.entries++
	dw.bytes += e.Size
	if dw.progress != nil {
		dw.progress.Packaged(dw.entries, dw.bytes)
	}
	if dw.list {
		dw.files = append(dw.files, e.File)
	}
	return nil
}

func closeFile(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// readSmall reads a whole file of the expected size into buf and hashes it.
func readSmall(path string, size int64, buf []byte, h hash.Hash) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, "", err
	}
	defer f.Close()
	if int64(cap(buf)) < size+1 {
		buf = make([]byte, 0, size+1)
	}
	buf = buf[:size+1]
	n, err := io.ReadFull(f, buf)
	if err != io.ErrUnexpectedEOF && err != nil && !(err == io.EOF && size == 0) {
		return buf, "", fmt.Errorf("read %s: %w", path, err)
	}
	if int64(n) != size {
		return buf, "", fmt.Errorf("read %s: changed size while packaged", path)
	}
	buf = buf[:n]
	h.Reset()
	h.Write(buf)
	return buf, hex.EncodeToString(h.Sum(nil)), nil
}

// hashBig hashes a large file and returns it opened again at its start.
func hashBig(path string, size int64, h hash.Hash) (*os.File, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	h.Reset()
	n, err := io.Copy(h, f)
	if err == nil && n != size {
		err = errors.New("changed size while packaged")
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("read %s: %w", path, err)
	}
	return f, hex.EncodeToString(h.Sum(nil)), nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
