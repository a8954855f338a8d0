package apk

import (
	"archive/tar"
	"bytes"
	"crypto"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"path"
	"strings"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// Limits on what a package may hold, so that a hostile file cannot make a
// reader use unbounded memory.
const (
	maxPkgInfoSize    = 1 << 20  // one .PKGINFO
	maxScriptSize     = 1 << 20  // one control script
	maxControlSize    = 16 << 20 // all control entries together, names included
	maxControlEntries = 256      // .PKGINFO and a handful of scripts in practice
	maxPathLen        = 4086     // apk refuses longer paths and link targets
	// DefaultMaxEntries is the number of data entries a reader accepts when
	// ReadOptions.MaxEntries is 0.
	DefaultMaxEntries = 1_000_000
	// DefaultMaxDataSize is the content size a reader accepts when
	// ReadOptions.MaxDataSize is 0: far above any real package, yet a
	// gzip bomb stops there rather than at a thousand times its size.
	DefaultMaxDataSize = 64 << 30
)

// maxNameBytes bounds the bytes of all data entry paths, link targets,
// owner names and extended attributes together: with DefaultMaxEntries
// entries of maxPathLen bytes (or of PAX records up to a megabyte) a
// reader would otherwise hold gigabytes of them. A variable for tests.
var maxNameBytes = 256 << 20

// MaxListed is the number of paths [Package].Mismatches and
// [Package].Unchecked keep, so that a package of a million bad entries
// does not make the reader hold a million paths.
const MaxListed = 100

// ChecksumKey is the PAX record that carries a file's SHA-1.
const ChecksumKey = "APK-TOOLS.checksum.SHA1"

// xattrPrefix starts PAX records that carry extended attributes.
const xattrPrefix = "SCHILY.xattr."

// ErrNotPackage is returned by [Read] and [Resign] for a signed stream
// whose first signed entry is not a control entry: an index, for example.
var ErrNotPackage = errors.New("not a package")

// ErrMalformed is wrapped by errors for packages whose structure apk
// refuses ("BAD archive").
var ErrMalformed = errors.New("BAD archive")

// Kind is the kind of a data entry, its tar type flag.
type Kind byte

// The kinds of data entries apk installs.
const (
	KindRegular  Kind = tar.TypeReg
	KindHardLink Kind = tar.TypeLink
	KindSymlink  Kind = tar.TypeSymlink
	KindChar     Kind = tar.TypeChar
	KindBlock    Kind = tar.TypeBlock
	KindDir      Kind = tar.TypeDir
	KindFIFO     Kind = tar.TypeFifo
)

// String returns a short name of k ("file", "dir", ...).
func (k Kind) String() string {
	switch k {
	case KindRegular:
		return "file"
	case KindHardLink:
		return "hardlink"
	case KindSymlink:
		return "symlink"
	case KindChar:
		return "char"
	case KindBlock:
		return "block"
	case KindDir:
		return "dir"
	case KindFIFO:
		return "fifo"
	}
	return fmt.Sprintf("type %q", byte(k))
}

// File is one entry of a package's data segment.
type File struct {
	// Path is the entry's path relative to the root, without a trailing "/".
	Path string
	Kind Kind // the entry's type ([KindRegular], [KindDir], ...)
	// Mode holds the permission bits, including setuid, setgid and sticky.
	Mode    uint32
	Uname   string // owner's user name
	Gname   string // owner's group name
	Uid     int    // owner's numeric user ID
	Gid     int    // owner's numeric group ID
	Size    int64  // content size in bytes (regular files)
	ModTime int64  // modification time, Unix seconds
	// Link is a symlink's target or, for a hard link, the path of the
	// entry it links to.
	Link               string
	DevMajor, DevMinor int64 // a device node's numbers
	// Xattrs maps extended attribute names to raw values (nil when none).
	Xattrs map[string]string
	// Checksum is the recorded SHA-1 (lowercase hex) of a regular file's
	// content or a symlink's target; "" when the entry has none.
	Checksum string
}

// Script is a control entry other than .PKGINFO (.post-install, .trigger, ...).
type Script struct {
	Name string // entry name, such as ".post-install"
	Mode uint32 // permission bits
	Data []byte // the script's content
}

// Segment is the place of one gzip member in the package file.
type Segment struct {
	Offset, Length int64 // in bytes, from the start of the file
}

// Package is what [Read] finds in a package.
type Package struct {
	Info       *PkgInfo         // the parsed .PKGINFO
	Signatures []sign.Signature // the signature segment's signatures, in order
	Scripts    []Script         // control entries other than .PKGINFO, in order
	// Files are the data entries in archive order (empty with ControlOnly).
	Files []File
	// ControlSHA1 is the SHA-1 of the control segment's stored bytes, the
	// package identity an index records as C:Q1... (see [Package.ID]).
	ControlSHA1 [sha1.Size]byte
	// DataSHA256 is the SHA-256 of the data segment, which datahash must
	// equal (zero with ControlOnly).
	DataSHA256 [32]byte
	// Size is the number of bytes read: the whole file unless ControlOnly.
	Size int64
	// Signature, Control and Data locate the segments. Signature covers
	// every signature member (zero length when unsigned).
	Signature, Control, Data Segment
	// Mismatches lists data entries whose content does not match their
	// recorded checksum: the first [MaxListed] of them.
	Mismatches []string
	// Unchecked lists regular files and symlinks without a checksum
	// record: the first [MaxListed] of them.
	Unchecked []string
	// MismatchCount and UncheckedCount count all of them.
	MismatchCount, UncheckedCount int

	// signed maps a hash to the digest of the signed bytes: the control
	// segment, or control and data for legacy packages without datahash.
	signed map[crypto.Hash][]byte
}

// ID returns the package identity as an index writes it: "Q1" and the
// base64 SHA-1 of the control segment.
func (p *Package) ID() string {
	return "Q1" + base64.StdEncoding.EncodeToString(p.ControlSHA1[:])
}

// SignedDigest returns the digest with h of the bytes the signatures cover,
// or nil when it was not computed (only the hashes of the signatures'
// algorithms and SHA-1 are).
func (p *Package) SignedDigest(h crypto.Hash) []byte { return p.signed[h] }

// ReadOptions tune [Read]. The zero value reads everything.
type ReadOptions struct {
	// ControlOnly stops after the control segment: the data segment is
	// neither read nor hashed (enough for an index entry).
	ControlOnly bool
	// Control, when set, is called once the control segment is read, with
	// the package as far as it is known then (Info, Scripts, ControlSHA1
	// and the segments before the data), before any of the data segment
	// is read; an error it returns ends Read. Reading a package once, a
	// caller can so check what the control segment says before the data
	// is unpacked.
	Control func(p *Package) error
	// Data, when set, is called for each data entry with its content (for
	// regular files; empty for others). What it leaves unread is read.
	Data func(f *File, content io.Reader) error
	// MaxEntries bounds the number of data entries; 0 means
	// [DefaultMaxEntries].
	MaxEntries int
	// MaxDataSize bounds the bytes of file content in the data segment,
	// the size it expands to; 0 means [DefaultMaxDataSize].
	MaxDataSize int64
	// NoFileList leaves Package.Files empty: the entries are checked but
	// not kept, which saves memory on packages with many files.
	NoFileList bool
}

// Read reads a v2 package from r in one pass: signatures, control entries,
// .PKGINFO and data entries, hashing each segment's stored bytes and each
// file's content. It checks the archive's structure but not trust or
// digests: that is [Verify]'s job, from what Read records. To read from an
// io.ReaderAt, pass an io.NewSectionReader. Errors wrap [ErrMalformed] or,
// for a file that ends too soon, io.ErrUnexpectedEOF.
func Read(r io.Reader, opts *ReadOptions) (*Package, error) {
	if opts == nil {
		opts = &ReadOptions{}
	}
	sr, err := sign.NewSignedReader(r)
	if err != nil {
		return nil, classify(err)
	}
	m := sr.Members()
	p := &Package{Signatures: sr.Signatures(), signed: map[crypto.Hash][]byte{}}
	p.Signature = Segment{0, m.Start()}
	if err := p.readControl(sr.Content(), sr.ZeroBlocks()); err != nil {
		return p, err
	}
	if _, err := m.Finish(); err != nil {
		return p, classify(err)
	}
	p.Control = Segment{m.Start(), m.End() - m.Start()}
	copy(p.ControlSHA1[:], m.Sum(crypto.SHA1))
	legacy := p.Info.DataHash == ""
	if !legacy {
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
			if d := m.Sum(h); d != nil {
				p.signed[h] = d
			}
		}
	}
	p.Size = m.End()
	if opts.Control != nil {
		if err := opts.Control(p); err != nil {
			return p, err
		}
	}
	if opts.ControlOnly {
		return p, nil
	}
	var content io.Reader
	if legacy {
		// The signature covers control and data together.
		content, err = m.Continue()
	} else {
		content, err = m.Next(crypto.SHA256)
	}
	if err == io.EOF {
		return p, fmt.Errorf("%w: no data segment", ErrMalformed)
	}
	if err != nil {
		return p, classify(err)
	}
	if err := p.readData(content, opts); err != nil {
		return p, err
	}
	// After the end of the archive apk reads whole blocks to the end of
	// the file: a partial one is "BAD archive" to it.
	tail, err := sign.TarTail(content, 0, 0)
	if errors.Is(err, sign.ErrTrailingData) {
		return p, fmt.Errorf("%w: data segment: %w", ErrMalformed, err)
	}
	if err != nil {
		return p, classify(fmt.Errorf("data segment: %w", err))
	}
	if tail%512 != 0 {
		return p, fmt.Errorf("%w: data segment: %d bytes after the end of the archive, not whole blocks", ErrMalformed, tail)
	}
	if _, err := m.Finish(); err != nil {
		return p, classify(err)
	}
	p.Data = Segment{m.Start(), m.End() - m.Start()}
	if legacy {
		copy(p.ControlSHA1[:], m.Sum(crypto.SHA1))
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
			if d := m.Sum(h); d != nil {
				p.signed[h] = d
			}
		}
	} else {
		copy(p.DataSHA256[:], m.Sum(crypto.SHA256))
	}
	if _, err := m.Next(); err != io.EOF {
		if err == nil {
			return p, fmt.Errorf("%w: more than one data segment", ErrMalformed)
		}
		return p, classify(err)
	}
	p.Size = m.Offset()
	return p, nil
}

// classify makes a read error wrap ErrMalformed unless it is a truncation.
func classify(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrMalformed) || errors.Is(err, ErrNotPackage) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

// readControl reads the control segment's entries. zeros is the number of
// zero blocks the signature segment held after its entries.
//
// apk reads the members of a package as one tar stream, which ends at the
// second zero block it meets, wherever that is; it then wants nothing but
// zero blocks to the end of the file. A control segment that keeps its
// end-of-archive blocks (a plain tar, not one cut as abuild-tar --cut
// does) so ends the archive before the data segment, whose first entry
// apk then refuses as "BAD archive".
func (p *Package) readControl(content io.Reader, zeros int) error {
	cnt := &countReader{r: content}
	tr := tar.NewReader(cnt)
	total := int64(0)
	var end int64 // where the last entry, padded, ends
	for n := 0; ; n++ {
		first := n == 0
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return tarError("control segment", cnt, err)
		}
		end = sign.PaddedEnd(cnt.n, hdr.Size)
		if n >= maxControlEntries {
			return fmt.Errorf("%w: control segment has more than %d entries", ErrMalformed, maxControlEntries)
		}
		name := hdr.Name
		if first && !strings.HasPrefix(name, ".") {
			return fmt.Errorf("%w: first entry is %q, not .PKGINFO", ErrNotPackage, name)
		}
		if !strings.HasPrefix(name, ".") || strings.Contains(name, "/") {
			return fmt.Errorf("%w: control segment: %q is not a control entry (data in the control member)", ErrMalformed, name)
		}
		if strings.HasPrefix(name, sign.SignaturePrefix) {
			return fmt.Errorf("%w: control segment: signature %q after the signature segment", ErrMalformed, name)
		}
		if hdr.Typeflag != tar.TypeReg {
			return fmt.Errorf("%w: control segment: %q is not a regular file", ErrMalformed, name)
		}
		limit := int64(maxScriptSize)
		if name == ".PKGINFO" {
			limit = maxPkgInfoSize
		}
		if hdr.Size > limit {
			return fmt.Errorf("%w: control segment: %q is %d bytes, over the limit of %d", ErrMalformed, name, hdr.Size, limit)
		}
		if total += hdr.Size + int64(len(name)); total > maxControlSize {
			return fmt.Errorf("%w: control segment is over %d bytes", ErrMalformed, maxControlSize)
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return tarError("control segment: "+name, cnt, err)
		}
		if name == ".PKGINFO" {
			if p.Info != nil {
				return fmt.Errorf("%w: control segment: two .PKGINFO entries", ErrMalformed)
			}
			p.Info, err = ParsePkgInfo(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%w: %w", ErrMalformed, err)
			}
			continue
		}
		p.Scripts = append(p.Scripts, Script{Name: name, Mode: uint32(hdr.Mode) & 0o7777, Data: data})
	}
	if p.Info == nil {
		return fmt.Errorf("%w: control segment has no .PKGINFO", ErrMalformed)
	}
	tail, err := sign.TarTail(content, cnt.n, end)
	if errors.Is(err, sign.ErrTrailingData) {
		return fmt.Errorf("%w: control segment: %w", ErrMalformed, err)
	}
	if err != nil {
		return classify(fmt.Errorf("control segment: %w", noEOF(err)))
	}
	if tail%512 != 0 || zeros+int(tail/512) > 1 {
		return fmt.Errorf("%w: control segment: %w: %d zero bytes after its last entry (a plain tar, not cut), %d zero blocks before it", ErrMalformed, sign.ErrEndOfArchive, tail, zeros)
	}
	return nil
}

// countReader counts the bytes read through it, and notes the end of its
// source.
type countReader struct {
	r   io.Reader
	n   int64
	eof bool
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

// tarError classifies an error of the tar reader over cnt: a tar stream
// that ends inside a block or an entry while its gzip member ended whole is
// malformed, not truncated.
func tarError(segment string, cnt *countReader, err error) error {
	if cnt.eof && (err == io.EOF || err == io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: the tar stream ends inside a block or an entry", ErrMalformed, segment)
	}
	return classify(fmt.Errorf("%s: %w", segment, noEOF(err)))
}

func (p *Package) readData(content io.Reader, opts *ReadOptions) error {
	max := opts.MaxEntries
	if max <= 0 {
		max = DefaultMaxEntries
	}
	cnt := &countReader{r: content}
	tr := tar.NewReader(cnt)
	// The kind of each path seen so far, for the order, duplicate and
	// hard link checks, keyed by a 128-bit hash of the path with seeds of
	// this reader's own: memory per entry does not grow with its name.
	kinds := map[pathKey]Kind{}
	seeds := [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	key := func(p string) pathKey { return pathKey{maphash.String(seeds[0], p), maphash.String(seeds[1], p)} }
	names := 0 // bytes of paths, link targets, owners and xattrs so far
	maxData := opts.MaxDataSize
	if maxData <= 0 {
		maxData = DefaultMaxDataSize
	}
	var data int64 // bytes of file content so far
	h := sha1.New()
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return tarError("data segment", cnt, err)
		}
		if len(kinds) >= max {
			return fmt.Errorf("%w: data segment: more than %d entries", ErrMalformed, max)
		}
		f, err := fileOf(hdr)
		if err != nil {
			return err
		}
		if hdr.Size > maxData-data {
			return fmt.Errorf("%w: data segment: more than %d bytes of content", ErrMalformed, maxData)
		}
		if hdr.Size > 0 {
			data += hdr.Size
		}
		names += len(f.Path) + len(f.Link) + len(f.Uname) + len(f.Gname)
		for k, v := range f.Xattrs {
			names += len(k) + len(v)
		}
		if names > maxNameBytes {
			return fmt.Errorf("%w: data segment: more than %d bytes of names and attributes", ErrMalformed, maxNameBytes)
		}
		if dir := path.Dir(f.Path); dir != "." && kinds[key(dir)] != KindDir {
			return fmt.Errorf("%w: data segment: %q comes before its directory", ErrMalformed, f.Path)
		}
		k := key(f.Path)
		if _, dup := kinds[k]; dup {
			return fmt.Errorf("%w: data segment: %q appears twice", ErrMalformed, f.Path)
		}
		if f.Kind == KindHardLink && kinds[key(f.Link)] != KindRegular {
			return fmt.Errorf("%w: data segment: hard link %q to %q, which is not an earlier file", ErrMalformed, f.Path, f.Link)
		}
		kinds[k] = f.Kind
		var sum []byte
		switch f.Kind {
		case KindRegular:
			h.Reset()
			body := io.TeeReader(tr, h)
			if opts.Data != nil {
				if err := opts.Data(f, body); err != nil {
					return fmt.Errorf("data segment: %s: %w", f.Path, err)
				}
			}
			if _, err := io.Copy(io.Discard, body); err != nil {
				return tarError("data segment: "+f.Path, cnt, err)
			}
			sum = h.Sum(nil)
		case KindSymlink:
			s := sha1.Sum([]byte(f.Link))
			sum = s[:]
			fallthrough
		default:
			if opts.Data != nil {
				if err := opts.Data(f, bytes.NewReader(nil)); err != nil {
					return fmt.Errorf("data segment: %s: %w", f.Path, err)
				}
			}
		}
		if sum != nil {
			switch {
			case f.Checksum == "":
				if p.UncheckedCount++; len(p.Unchecked) < MaxListed {
					p.Unchecked = append(p.Unchecked, f.Path)
				}
			case f.Checksum != hex.EncodeToString(sum):
				if p.MismatchCount++; len(p.Mismatches) < MaxListed {
					p.Mismatches = append(p.Mismatches, f.Path)
				}
			}
		}
		if !opts.NoFileList {
			p.Files = append(p.Files, *f)
		}
	}
}

// pathKey identifies a data entry's path in a reader's bookkeeping.
type pathKey [2]uint64

// fileOf turns a data tar header into a File, refusing what apk refuses.
func fileOf(hdr *tar.Header) (*File, error) {
	name := strings.TrimSuffix(hdr.Name, "/")
	if err := checkPath(name); err != nil {
		return nil, fmt.Errorf("%w: data segment: %q: %v", ErrMalformed, hdr.Name, err)
	}
	f := &File{
		Path:     name,
		Kind:     Kind(hdr.Typeflag),
		Mode:     uint32(hdr.Mode) & 0o7777,
		Uname:    hdr.Uname,
		Gname:    hdr.Gname,
		Uid:      hdr.Uid,
		Gid:      hdr.Gid,
		ModTime:  hdr.ModTime.Unix(),
		Link:     hdr.Linkname,
		DevMajor: hdr.Devmajor,
		DevMinor: hdr.Devminor,
	}
	switch hdr.Typeflag {
	case tar.TypeReg, '7':
		f.Kind = KindRegular
		f.Size = hdr.Size
	case tar.TypeLink:
		f.Link = strings.TrimSuffix(f.Link, "/")
		if err := checkPath(f.Link); err != nil {
			return nil, fmt.Errorf("%w: data segment: hard link %q to %q: %v", ErrMalformed, name, hdr.Linkname, err)
		}
	case tar.TypeSymlink:
		if f.Link == "" || len(f.Link) >= maxPathLen {
			return nil, fmt.Errorf("%w: data segment: symlink %q has a bad target", ErrMalformed, name)
		}
	case tar.TypeDir, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	default:
		return nil, fmt.Errorf("%w: data segment: %q has unsupported type %q", ErrMalformed, name, hdr.Typeflag)
	}
	for k, v := range hdr.PAXRecords {
		switch {
		case strings.HasPrefix(k, "GNU.sparse."):
			// A sparse entry's logical size is whatever it claims: reading
			// it could produce any amount of zeros. apk installs none.
			return nil, fmt.Errorf("%w: data segment: %q is a sparse file", ErrMalformed, name)
		case k == "size":
			return nil, fmt.Errorf("%w: data segment: %q has a PAX size record, which apk ignores", ErrMalformed, name)
		case k == ChecksumKey:
			f.Checksum = v
		case strings.HasPrefix(k, xattrPrefix):
			if f.Xattrs == nil {
				f.Xattrs = map[string]string{}
			}
			f.Xattrs[strings.TrimPrefix(k, xattrPrefix)] = v
		}
	}
	return f, nil
}

// checkPath refuses paths apk would treat as malicious or skip.
func checkPath(name string) error {
	switch {
	case name == "":
		return errors.New("empty path")
	case len(name) >= maxPathLen:
		return errors.New("path too long")
	case strings.HasPrefix(name, "/"):
		return errors.New("absolute path")
	case strings.HasPrefix(name, "."):
		return errors.New("path starts with a dot")
	}
	for _, c := range []byte(name) {
		if c < 0x20 || c == 0x7f {
			return errors.New("control character in path")
		}
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || el == ".." {
			return errors.New("empty, . or .. path element")
		}
	}
	return nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
