package index

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// The names of the entries of an index tar.
const (
	// TextName is the tar entry that holds the APKINDEX text.
	TextName = "APKINDEX"
	// DescriptionName is the tar entry that holds the repository description.
	DescriptionName = "DESCRIPTION"
	// SignaturePrefix starts the name of every signature entry.
	SignaturePrefix = ".SIGN."
)

// Limits that bound the memory [Read] uses on hostile input.
const (
	// MaxTextSize is the largest APKINDEX entry Read accepts, as read
	// and as Write would write it again (Alpine's largest indexes are
	// about 10 MB of text).
	MaxTextSize = 64 << 20
	// MaxDescriptionSize is the largest DESCRIPTION entry Read accepts.
	MaxDescriptionSize = 64 << 10
	// maxStream bounds all the decompressed bytes Read looks at.
	maxStream = MaxTextSize + 16<<20
	// maxGrowth bounds how many bytes longer a record is once written
	// than as read: the S:, I:, T:, U: and L: lines it lacked, and the
	// newlines of the last line and record of a text without them.
	maxGrowth = len("S:0\nI:0\nT:\nU:\nL:\n") + 2
)

// maxText is MaxTextSize, a variable for tests.
var maxText = MaxTextSize

// Errors returned by [Read].
var (
	// ErrNoText means the archive has no APKINDEX entry.
	ErrNoText = errors.New("index has no APKINDEX entry")
	// ErrTooLarge means an entry or the whole stream exceeds Read's limits.
	ErrTooLarge = errors.New("index too large")
)

// Index is the content of an APKINDEX.tar.gz: its description and records.
// The zero value is an empty index.
type Index struct {
	// Description is the DESCRIPTION entry ("" means none is written).
	// abuild writes "<repo> <git describe>"; apk 3 ignores it beyond 160 bytes.
	Description string
	// Records are the package entries, in file order.
	Records []*Record
	// ModTime is the mtime of the tar entries: read from the APKINDEX
	// entry, written on every entry. Writers set it to SOURCE_DATE_EPOCH
	// or the current time; the zero value writes 0.
	ModTime time.Time
	// Signatures lists the names of the signature entries Read found
	// (".SIGN.RSA.<keyname>", ...) in order. Write ignores it: signing is
	// done over the bytes Write produces (see pkg/sign).
	Signatures []string
}

// Read reads an APKINDEX.tar.gz, signed or not, from r: every gzip member,
// the signature entries' names, DESCRIPTION and the parsed APKINDEX text.
// It checks neither signatures nor their keys (pkg/sign does). Memory is
// bounded by [MaxTextSize]; a larger index gives [ErrTooLarge].
func Read(r io.Reader) (*Index, error) {
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	return readTar(zr, true, nil)
}

// readTar reads the decompressed tar of an index: signature entries (when
// sigs is true; otherwise they are not expected), DESCRIPTION and APKINDEX,
// then the rest of r, which must be zeros. When each is not nil, it is
// given the records as the text is parsed, a batch at a time.
func readTar(r io.Reader, sigs bool, each func([]*Record)) (*Index, error) {
	lr := &io.LimitedReader{R: r, N: maxStream + 1}
	tr := tar.NewReader(lr)
	ix := &Index{}
	var (
		textLen int
		hasText bool
	)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read index: %w", limitErr(lr, err))
		}
		switch {
		case sigs && strings.HasPrefix(h.Name, SignaturePrefix):
			ix.Signatures = append(ix.Signatures, h.Name)
		case h.Name == DescriptionName:
			b, err := readEntry(tr, h, MaxDescriptionSize)
			if err != nil {
				return nil, fmt.Errorf("read index: %s: %w", h.Name, limitErr(lr, err))
			}
			ix.Description = string(b)
		case h.Name == TextName:
			if hasText {
				return nil, fmt.Errorf("read index: two %s entries", TextName)
			}
			textLen, err = readText(tr, h, int64(maxText), ix, each)
			if err != nil {
				return nil, fmt.Errorf("read index: %s: %w", h.Name, limitErr(lr, err))
			}
			hasText = true
			ix.ModTime = h.ModTime
		}
	}
	// Read to the end of the stream so that every member's CRC is checked;
	// apk wants nothing but zero blocks after the end of the archive.
	if err := drainZeros(lr); err != nil {
		return nil, fmt.Errorf("read index: %w", limitErr(lr, err))
	}
	if !hasText {
		return nil, ErrNoText
	}
	// What Read accepts, Write writes so that Read accepts it: the
	// written text, which may be longer, must fit too.
	if textLen+maxGrowth*len(ix.Records) > maxText {
		n, err := textSize(ix.Records)
		if err != nil {
			return nil, fmt.Errorf("read index: %w", err)
		}
		if n > maxText {
			return nil, fmt.Errorf("read index: %w: %s would be written as %d bytes", ErrTooLarge, TextName, n)
		}
	}
	return ix, nil
}

// textPiece is how much APKINDEX text is parsed at a time: a piece ends
// with the last whole record read.
const textPiece = 64 << 10

// readText reads the APKINDEX entry h of at most limit bytes and parses it,
// a piece at a time, into ix.Records, passing each batch to each (when not
// nil). It returns the text's length. The records of a piece share one
// copy of its text.
func readText(tr *tar.Reader, h *tar.Header, limit int64, ix *Index, each func([]*Record)) (int, error) {
	if h.Size > limit {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, h.Size)
	}
	var (
		p    textParser
		buf  = make([]byte, 0, min(h.Size, 2*textPiece))
		read int64
		// scanned is how much of buf is known to hold no empty line, so
		// that a record longer than a piece is searched once, not once
		// per read.
		scanned int
	)
	parse := func(text string) error {
		n := len(ix.Records)
		var err error
		if ix.Records, err = p.parse(ix.Records, text); err != nil {
			return err
		}
		if each != nil && len(ix.Records) > n {
			each(ix.Records[n:len(ix.Records):len(ix.Records)])
		}
		return nil
	}
	for read < h.Size {
		if cap(buf)-len(buf) < textPiece/2 {
			buf = slices.Grow(buf, textPiece)
		}
		n, err := tr.Read(buf[len(buf):min(int64(cap(buf)), int64(len(buf))+h.Size-read)])
		buf = buf[:len(buf)+n]
		read += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		if len(buf) < textPiece {
			continue
		}
		// Parse up to the empty line that ends the last whole record,
		// and keep the rest for the next piece.
		from := max(scanned-1, 0)
		cut := bytes.LastIndex(buf[from:], []byte("\n\n"))
		if cut < 0 {
			scanned = len(buf)
			continue
		}
		cut += from + 2
		if err := parse(string(buf[:cut])); err != nil {
			return 0, err
		}
		buf = buf[:copy(buf, buf[cut:])]
		scanned = 0
	}
	if read != h.Size {
		return 0, io.ErrUnexpectedEOF
	}
	if err := parse(string(buf)); err != nil {
		return 0, err
	}
	return int(h.Size), nil
}

// textSize returns the size of the APKINDEX text AppendText writes for
// recs.
func textSize(recs []*Record) (int, error) {
	var buf []byte
	n := 0
	for _, r := range recs {
		var err error
		if buf, err = r.AppendText(buf[:0]); err != nil {
			return 0, err
		}
		n += len(buf)
	}
	return n, nil
}

// limitErr turns an error caused by hitting the stream limit into ErrTooLarge.
func limitErr(lr *io.LimitedReader, err error) error {
	if lr.N <= 0 {
		return ErrTooLarge
	}
	return err
}

// readEntry reads the data of the current tar entry, at most max bytes.
// Memory grows with the data actually read, not with the size the header
// claims.
func readEntry(tr *tar.Reader, h *tar.Header, max int64) ([]byte, error) {
	if h.Size > max {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, h.Size)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(h.Size, 16<<20)))
	n, err := io.Copy(&buf, tr)
	if err != nil {
		return nil, err
	}
	if n != h.Size {
		return nil, io.ErrUnexpectedEOF
	}
	return buf.Bytes(), nil
}

// drainZeros reads r to its end and fails on a non-zero byte.
func drainZeros(r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return errors.New("data after the end of the archive")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Write writes the unsigned part of an APKINDEX.tar.gz to w: one gzip
// member holding a tar of DESCRIPTION (when set) and APKINDEX, with the
// headers apk index writes, then the end-of-archive blocks.
// The records are written in the order given. A signed index is a signature
// member (pkg/sign) followed by exactly these bytes.
func Write(w io.Writer, ix *Index) error {
	zw, err := gzip.NewWriterLevel(w, compressionLevel)
	if err != nil {
		return err
	}
	if err := WriteTar(zw, ix); err != nil {
		return err
	}
	return zw.Close()
}

// WriteTar writes the uncompressed tar of [Write]: what apk index writes
// before compression, byte for byte.
func WriteTar(w io.Writer, ix *Index) error {
	text, err := AppendText(make([]byte, 0, 400*len(ix.Records)), ix.Records)
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	mtime := ix.ModTime.Unix()
	if ix.ModTime.IsZero() || mtime < 0 {
		mtime = 0
	}
	if ix.Description != "" {
		if err := writeEntry(w, DescriptionName, []byte(ix.Description), mtime); err != nil {
			return err
		}
	}
	if err := writeEntry(w, TextName, text, mtime); err != nil {
		return err
	}
	_, err = w.Write(make([]byte, 2*blockSize))
	return err
}

const blockSize = 512

// compressionLevel is the deflate level of written indexes: within 2% of
// gzip -9's size at a fraction of its time (an index is rewritten on every
// change to a repository).
const compressionLevel = 6

// writeEntry writes one regular file entry the way apk's tar writer does:
// GNU magic, mode 0644, owner root/root (0/0), size and mtime as 12 octal
// digits, data padded to a whole block.
func writeEntry(w io.Writer, name string, data []byte, mtime int64) error {
	var h [blockSize]byte
	copy(h[0:100], name)
	copy(h[100:108], "0000644\x00")
	copy(h[108:116], "0000000\x00")
	copy(h[116:124], "0000000\x00")
	putOctal(h[124:136], uint64(len(data)))
	putOctal(h[136:148], uint64(mtime))
	h[156] = '0'
	copy(h[257:265], "ustar  \x00")
	copy(h[265:297], "root")
	copy(h[297:329], "root")
	copy(h[148:156], "        ")
	var sum uint64
	for _, c := range h {
		sum += uint64(c)
	}
	putOctal(h[148:154], sum)
	h[154] = 0
	h[155] = ' '
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if pad := len(data) % blockSize; pad != 0 {
		_, err := w.Write(make([]byte, blockSize-pad))
		return err
	}
	return nil
}

// putOctal fills f with v in octal, zero-padded, with no terminator.
func putOctal(f []byte, v uint64) {
	for i := len(f) - 1; i >= 0; i-- {
		f[i] = byte('0' + v&7)
		v >>= 3
	}
}
