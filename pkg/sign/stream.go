package sign

import (
	"archive/tar"
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"time"
)

// SignedReader reads the signature members at the head of a signed stream
// (a package or an index) and stops at the first member that is not one:
// the first signed member. Member boundaries reset the digests, as in apk,
// so each signature member must hold only signature entries.
type SignedReader struct {
	m     *MemberReader
	sigs  []Signature
	first io.Reader
	zeros int
}

// ErrEndOfArchive is wrapped by the errors for a stream whose tar ends
// before its last member: signature members (or, for pkg/apk, a control
// member) that hold end-of-archive blocks after their entries, as a plain
// tar does (abuild-sign and abuild-tar --cut leave them out). apk reads
// the members of a stream as one tar, which the second zero block it
// meets ends, so what comes after is "BAD archive" to it.
var ErrEndOfArchive = errors.New("end-of-archive blocks before the end of the stream")

// countReader counts the bytes read through it, and notes the end of its
// source.
type countReader struct {
	r   io.Reader
	n   int64
	eof bool
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	}
	return n, err
}

// tarErr returns the error of a tar reader over c: a tar stream that ends
// inside a block while its gzip member ended whole is malformed, not
// truncated.
func (c *countReader) tarErr(err error) error {
	if c.eof && (err == io.EOF || err == io.ErrUnexpectedEOF) {
		return errors.New("the tar stream ends inside a block or an entry")
	}
	return noEOF(err)
}

// TarTail reads what is left of r, a tar stream whose last entry ends
// at byte end (its data padded to a whole block) and of which n bytes were
// read, and returns the number of bytes after that entry: 0 for a stream
// cut after its last entry, 512 for one zero block, and so on. It fails
// when a byte after the entry is not zero, as apk reads no further entry
// after the end of an archive.
func TarTail(r io.Reader, n, end int64) (int64, error) {
	var buf [4096]byte
	for {
		k, err := r.Read(buf[:])
		for _, b := range buf[:k] {
			if b != 0 {
				return 0, ErrTrailingData
			}
		}
		n += int64(k)
		if err == io.EOF {
			return n - end, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// PaddedEnd returns the offset of the end of an entry whose data starts at
// start and holds size bytes, padded to a whole 512-byte block.
func PaddedEnd(start, size int64) int64 {
	return start + (size+511)&^511
}

// NewSignedReader reads the leading signature members of r and starts the
// first signed member, hashing its compressed bytes with SHA-1 and with
// the digest of every signature's algorithm. A stream without signatures
// is read too (its first member is the first signed member).
func NewSignedReader(r io.Reader) (*SignedReader, error) {
	// A stream is signed by one key, or a few while keys rotate; many
	// signatures are a stream made to use memory and time.
	const maxSignatures = 64
	addSig := func(s *SignedReader, sig Signature) error {
		if len(s.sigs) >= maxSignatures {
			return fmt.Errorf("signed stream: more than %d signatures", maxSignatures)
		}
		s.sigs = append(s.sigs, sig)
		return nil
	}
	s := &SignedReader{m: NewMemberReader(r)}
	for {
		hashes := []crypto.Hash{crypto.SHA1}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA512} {
			for _, sig := range s.sigs {
				if sig.Algorithm.Hash() == h {
					hashes = append(hashes, h)
					break
				}
			}
		}
		content, err := s.m.Next(hashes...)
		if err == io.EOF {
			if len(s.sigs) > 0 {
				return nil, fmt.Errorf("signed stream: %w: nothing after the signatures", io.ErrUnexpectedEOF)
			}
			return nil, fmt.Errorf("signed stream: %w: empty", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return nil, fmt.Errorf("signed stream: %w", err)
		}
		// Record what tar consumes before its first header is known, to
		// give it back when the member is not a signature member.
		cnt := &countReader{r: content}
		rec := &recorder{r: cnt}
		tr := tar.NewReader(rec)
		hdr, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("signed stream: member at offset %d: %w", s.m.Start(), cnt.tarErr(err))
		}
		end := PaddedEnd(cnt.n, hdr.Size)
		sig, ok, err := ReadSignatureEntry(hdr, tr)
		if err != nil {
			return nil, fmt.Errorf("signed stream: %w", err)
		}
		if !ok {
			rec.stop = true
			s.first = io.MultiReader(bytes.NewReader(rec.buf.Bytes()), content)
			return s, nil
		}
		if err := addSig(s, sig); err != nil {
			return nil, err
		}
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("signed stream: signature member at offset %d: %w", s.m.Start(), cnt.tarErr(err))
			}
			end = PaddedEnd(cnt.n, hdr.Size)
			sig, ok, err := ReadSignatureEntry(hdr, tr)
			if err != nil {
				return nil, fmt.Errorf("signed stream: %w", err)
			}
			if !ok {
				return nil, fmt.Errorf("signed stream: entry %q shares a gzip member with a signature", hdr.Name)
			}
			if err := addSig(s, sig); err != nil {
				return nil, err
			}
		}
		tail, err := TarTail(content, cnt.n, end)
		if err != nil {
			return nil, fmt.Errorf("signed stream: signature member at offset %d: %w", s.m.Start(), noEOF(err))
		}
		// apk counts zero blocks across the members; a second one ends
		// its archive.
		if s.zeros += int(tail / 512); s.zeros > 1 || tail%512 != 0 {
			return nil, fmt.Errorf("signed stream: signature member at offset %d: %w", s.m.Start(), ErrEndOfArchive)
		}
		if _, err := s.m.Finish(); err != nil {
			return nil, fmt.Errorf("signed stream: %w", err)
		}
	}
}

// ZeroBlocks returns the number of zero blocks the signature members hold
// after their entries: 0 for members cut after their last entry, as
// abuild-sign writes them, or 1. apk counts them towards the end of the
// archive it reads across all the members, which the second one ends.
func (s *SignedReader) ZeroBlocks() int { return s.zeros }

// Signatures returns the signatures read, in stream order.
func (s *SignedReader) Signatures() []Signature { return s.sigs }

// Members returns the underlying member reader, positioned in the first
// signed member.
func (s *SignedReader) Members() *MemberReader { return s.m }

// Content returns the decompressed content of the first signed member,
// from its first byte.
func (s *SignedReader) Content() io.Reader { return s.first }

// recorder copies what is read through it into buf until stop is set.
type recorder struct {
	r    io.Reader
	buf  bytes.Buffer
	stop bool
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if !r.stop {
		r.buf.Write(p[:n])
	}
	return n, err
}

// StreamResult describes a signed stream read by [VerifyStream].
type StreamResult struct {
	// Signatures are all signatures found, in stream order.
	Signatures []Signature
	// Used is the index in Signatures of the signature that was checked,
	// or -1 when none names a trusted key.
	Used int
	// SignedOffset is where the signed bytes start.
	SignedOffset int64
	// Size is the length of the whole stream.
	Size int64
}

// VerifyStream reads a stream whose signatures cover all the bytes after
// the signature members, as an APKINDEX.tar.gz's do, and checks them
// against kr. content, when not nil, is called once for each signed
// member with its decompressed content (the index tar); what it leaves
// unread is read and discarded. The error wraps [ErrUntrusted] or
// [ErrBadSignature] for a trust failure, and describes the damage for a
// broken stream (io.ErrUnexpectedEOF when truncated); res is non-nil
// whenever the signatures could be read.
func VerifyStream(r io.Reader, kr *Keyring, content func(member io.Reader) error) (res *StreamResult, err error) {
	sr, err := NewSignedReader(r)
	if err != nil {
		return nil, err
	}
	m := sr.Members()
	res = &StreamResult{Signatures: sr.Signatures(), Used: kr.Select(sr.Signatures()), SignedOffset: m.Start()}
	c := sr.Content()
	for {
		if content != nil {
			if err := content(c); err != nil {
				return res, err
			}
		}
		if _, err := io.Copy(io.Discard, c); err != nil {
			return res, noEOF(err)
		}
		c, err = m.Continue()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
	}
	res.Size = m.Offset()
	if res.Used < 0 {
		return res, ErrUntrusted
	}
	_, err = kr.Verify(res.Signatures[res.Used:res.Used+1], m.Sum)
	return res, err
}

// Continue finishes the current member and starts the next one without
// resetting the digests, so that [MemberReader.Sum] covers both (used when
// a signature covers several members). It returns io.EOF at the end of the
// stream.
func (m *MemberReader) Continue() (io.Reader, error) {
	kinds := append([]crypto.Hash(nil), m.src.kinds...)
	if m.active {
		if _, err := m.Finish(); err != nil {
			return nil, err
		}
	}
	saved := m.src.hashes
	c, err := m.Next(kinds...)
	m.src.hashes = saved
	return c, err
}

// ReplaceSignature writes to w the signed stream in r (an index: its
// signatures cover every byte after them) signed with key: a new signature
// member first, then the existing signatures by other keys, then the
// signed bytes unchanged. An existing signature by the same key name is
// dropped. r is read twice: once to hash the signed bytes, once to copy
// them.
func ReplaceSignature(w io.Writer, r io.ReadSeeker, key *PrivateKey, alg Algorithm, mtime time.Time) error {
	h := alg.Hash()
	if h == 0 {
		return fmt.Errorf("sign: unknown algorithm %q", alg)
	}
	sr, err := NewSignedReader(r)
	if err != nil {
		return err
	}
	m := sr.Members()
	signedAt := m.Start()
	c := sr.Content()
	d := h.New()
	// Hash the signed bytes from the source itself: the member reader only
	// hashes with the algorithms of the existing signatures.
	for {
		if _, err := io.Copy(io.Discard, c); err != nil {
			return noEOF(err)
		}
		c, err = m.Continue()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if _, err := r.Seek(signedAt, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(d, r); err != nil {
		return err
	}
	sig, err := key.Sign(alg, d.Sum(nil))
	if err != nil {
		return err
	}
	sigs := []Signature{sig}
	for _, s := range sr.Signatures() {
		if s.KeyName != key.Name {
			sigs = append(sigs, s)
		}
	}
	if err := WriteSignatureMember(w, sigs, mtime); err != nil {
		return err
	}
	if _, err := r.Seek(signedAt, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}
