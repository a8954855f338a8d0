package sign

import (
	"crypto"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// ErrTrailingData is returned when a gzip member holds non-zero bytes after
// the end of its tar archive, which apk refuses.
var ErrTrailingData = errors.New("data after the end of the archive")

// MemberReader splits a concatenation of gzip members (a package or an
// index) into its members, decompressing each and hashing each member's
// compressed bytes exactly as stored, from its first header byte to its
// last trailer byte. It reads its source through its own buffer and never
// past what it needs, and uses memory bounded by that buffer and the
// decompressor. A MemberReader is not safe for concurrent use.
type MemberReader struct {
	src    hashingReader
	zr     *gzip.Reader
	active bool
	eof    bool
	start  int64
	end    int64
}

// NewMemberReader returns a MemberReader over r.
func NewMemberReader(r io.Reader) *MemberReader {
	return &MemberReader{src: hashingReader{r: r, buf: make([]byte, minBuffer)}}
}

// Next finishes the current member (reading what is left of it, which
// checks its CRC) and starts the next one, hashing its compressed bytes
// with each of hashes. It returns the member's decompressed content, or
// io.EOF when the stream ends cleanly after the last member, or an error
// (io.ErrUnexpectedEOF for a truncated stream).
func (m *MemberReader) Next(hashes ...crypto.Hash) (io.Reader, error) {
	if m.active {
		if _, err := m.Finish(); err != nil {
			return nil, err
		}
	}
	if m.eof {
		return nil, io.EOF
	}
	m.src.flush()
	m.src.setHashes(hashes)
	m.start = m.src.off
	var err error
	if m.zr == nil {
		m.zr, _ = inflaters.Get().(*gzip.Reader)
	}
	if m.zr == nil {
		m.zr, err = gzip.NewReader(&m.src)
	} else {
		err = m.zr.Reset(&m.src)
	}
	if err == io.EOF && m.src.off == m.start && m.src.pos == m.src.start {
		m.eof = true
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("gzip member at offset %d: %w", m.start, noEOF(err))
	}
	m.zr.Multistream(false)
	m.active = true
	return memberContent{m}, nil
}

// memberContent reads the decompressed content of the current member.
type memberContent struct{ m *MemberReader }

func (c memberContent) Read(p []byte) (int, error) {
	if !c.m.active {
		return 0, io.EOF
	}
	n, err := c.m.zr.Read(p)
	if err == io.EOF {
		c.m.close()
	} else if err != nil {
		err = fmt.Errorf("gzip member at offset %d: %w", c.m.start, err)
	}
	return n, err
}

func (m *MemberReader) close() {
	if m.active {
		m.active = false
		m.src.flush()
		m.end = m.src.off
		// The decompressor (with its 32 KiB window) goes back to the pool
		// between members, so a reader that stops after a member, as an
		// index reads only the head of each package, holds none.
		inflaters.Put(m.zr)
		m.zr = nil
	}
}

// inflaters holds idle gzip readers: each costs about 40 KiB to make.
var inflaters sync.Pool

// Finish reads what is left of the current member's content, so that its
// digests and length are final. It returns whether any of those bytes was
// not zero (after the end of a tar archive, only zero blocks are allowed:
// see [ErrTrailingData]).
func (m *MemberReader) Finish() (nonZero bool, err error) {
	var buf [512]byte
	for m.active {
		n, err := m.zr.Read(buf[:])
		for _, b := range buf[:n] {
			if b != 0 {
				nonZero = true
				break
			}
		}
		if err == io.EOF {
			m.close()
			break
		}
		if err != nil {
			return nonZero, fmt.Errorf("gzip member at offset %d: %w", m.start, noEOF(err))
		}
	}
	return nonZero, nil
}

// Sum returns the digest with h of the current member's compressed bytes.
// It is complete once the member's content has been read to its end (or
// [MemberReader.Finish] called). It returns nil for a hash not asked for in
// [MemberReader.Next].
func (m *MemberReader) Sum(h crypto.Hash) []byte {
	m.src.flush()
	for i, hh := range m.src.kinds {
		if hh == h {
			return m.src.hashes[i].Sum(nil)
		}
	}
	return nil
}

// Start returns the offset in the stream of the current member's first byte.
func (m *MemberReader) Start() int64 { return m.start }

// End returns the offset just after the current member, once it is finished.
func (m *MemberReader) End() int64 { return m.end }

// Offset returns the number of bytes of the stream consumed so far.
func (m *MemberReader) Offset() int64 {
	m.src.flush()
	return m.src.off
}

// A MemberReader's buffer starts at minBuffer bytes, enough for the
// signature and control segments of most packages, and doubles up to
// maxBuffer while reads fill it.
const (
	minBuffer = 4 << 10
	maxBuffer = 64 << 10
)

// hashingReader is a buffered io.ByteReader that hashes exactly the bytes
// its caller consumes. gzip reads through it without wrapping it in its
// own buffer, so member boundaries are exact.
type hashingReader struct {
	r          io.Reader
	buf        []byte
	start, pos int // buf[start:pos] consumed, not yet hashed
	end        int
	off        int64 // bytes consumed and hashed
	kinds      []crypto.Hash
	hashes     []hash.Hash
	err        error
}

func (h *hashingReader) setHashes(kinds []crypto.Hash) {
	h.kinds = append(h.kinds[:0], kinds...)
	h.hashes = make([]hash.Hash, 0, len(kinds))
	for _, k := range kinds {
		h.hashes = append(h.hashes, k.New())
	}
}

func (h *hashingReader) flush() {
	if h.pos > h.start {
		for _, d := range h.hashes {
			d.Write(h.buf[h.start:h.pos])
		}
		h.off += int64(h.pos - h.start)
		h.start = h.pos
	}
}

func (h *hashingReader) fill() error {
	h.flush()
	if h.err != nil {
		return h.err
	}
	if h.end == len(h.buf) && len(h.buf) < maxBuffer {
		h.buf = make([]byte, 2*len(h.buf))
	}
	h.start, h.pos, h.end = 0, 0, 0
	for h.end == 0 && h.err == nil {
		h.end, h.err = h.r.Read(h.buf)
	}
	if h.end > 0 {
		return nil
	}
	return h.err
}

func (h *hashingReader) ReadByte() (byte, error) {
	if h.pos == h.end {
		if err := h.fill(); err != nil {
			return 0, err
		}
	}
	b := h.buf[h.pos]
	h.pos++
	return b, nil
}

func (h *hashingReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if h.pos == h.end {
		if err := h.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, h.buf[h.pos:h.end])
	h.pos += n
	return n, nil
}
