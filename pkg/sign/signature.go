package sign

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // SHA-1 for RSA signatures
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Algorithm names a signature scheme as it appears in a signature entry's
// name (".SIGN.<Algorithm>.<key name>"). All are RSASSA-PKCS1-v1_5.
type Algorithm string

// The signature algorithms apk reads.
const (
	// RSA is RSA PKCS#1 v1.5 over SHA-1: abuild-sign's default, read by
	// every apk. Use it only for old clients.
	RSA Algorithm = "RSA"
	// RSA256 is RSA PKCS#1 v1.5 over SHA-256: apkit's default, read by
	// apk since 2.7.
	RSA256 Algorithm = "RSA256"
	// RSA512 is RSA PKCS#1 v1.5 over SHA-512. apkit reads it but does not
	// write it by default.
	RSA512 Algorithm = "RSA512"
)

// Hash returns the digest a signature of this algorithm is made over, or 0
// for an unknown algorithm.
func (a Algorithm) Hash() crypto.Hash {
	switch a {
	case RSA:
		return crypto.SHA1
	case RSA256:
		return crypto.SHA256
	case RSA512:
		return crypto.SHA512
	}
	return 0
}

// SignaturePrefix starts the name of every signature entry.
const SignaturePrefix = ".SIGN."

// ErrBadSignature is returned when a signature does not verify under the
// trusted key it names.
var ErrBadSignature = errors.New("BAD signature")

// ErrUntrusted is returned when no signature names a trusted key.
var ErrUntrusted = errors.New("UNTRUSTED signature")

// Signature is one signature entry: the algorithm, the name of the public
// key (its file name in a key directory) and the raw signature bytes.
type Signature struct {
	Algorithm Algorithm
	KeyName   string
	Value     []byte
}

// EntryName returns the tar entry name of s: ".SIGN.<Algorithm>.<KeyName>".
func (s Signature) EntryName() string {
	return SignaturePrefix + string(s.Algorithm) + "." + s.KeyName
}

// ParseEntryName splits a signature entry name into its algorithm and key
// name. ok is false when name does not start with ".SIGN." or has no
// algorithm. The algorithm may be one apkit does not know (its Hash is 0).
func ParseEntryName(name string) (alg Algorithm, keyName string, ok bool) {
	rest, found := strings.CutPrefix(name, SignaturePrefix)
	if !found {
		return "", "", false
	}
	a, k, found := strings.Cut(rest, ".")
	if !found || a == "" {
		return "", "", false
	}
	return Algorithm(a), k, true
}

// Sign signs digest, the alg hash of the signed bytes, with k. PKCS#1 v1.5
// signatures are deterministic: the same key and bytes give the same
// signature.
func (k *PrivateKey) Sign(alg Algorithm, digest []byte) (Signature, error) {
	h := alg.Hash()
	if h == 0 {
		return Signature{}, fmt.Errorf("sign: unknown algorithm %q", alg)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Key, h, digest)
	if err != nil {
		return Signature{}, fmt.Errorf("sign: %w", err)
	}
	return Signature{Algorithm: alg, KeyName: k.Name, Value: sig}, nil
}

// SignBytes signs msg (hashing it with alg's digest) with k.
func (k *PrivateKey) SignBytes(alg Algorithm, msg []byte) (Signature, error) {
	h := alg.Hash()
	if h == 0 {
		return Signature{}, fmt.Errorf("sign: unknown algorithm %q", alg)
	}
	d := h.New()
	d.Write(msg)
	return k.Sign(alg, d.Sum(nil))
}

// Verify checks s against pub over digest, the s.Algorithm hash of the
// signed bytes. It returns nil or an error wrapping [ErrBadSignature].
func (s Signature) Verify(pub *rsa.PublicKey, digest []byte) error {
	h := s.Algorithm.Hash()
	if h == 0 {
		return fmt.Errorf("%w: unknown algorithm %q", ErrBadSignature, s.Algorithm)
	}
	if err := rsa.VerifyPKCS1v15(pub, h, digest, s.Value); err != nil {
		return fmt.Errorf("%w (%s by %s)", ErrBadSignature, s.Algorithm, s.KeyName)
	}
	return nil
}

// WriteSignatureMember writes sigs as one gzip member holding one tar entry
// per signature, without end-of-archive blocks, as the first segment of a
// package or index. Entries are regular files, mode 0644, owned by root
// (uid 0), with modification time mtime; names too long for a ustar header
// get a PAX path record. Output is deterministic.
func WriteSignatureMember(w io.Writer, sigs []Signature, mtime time.Time) error {
	if len(sigs) == 0 {
		return errors.New("write signature: no signature")
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, s := range sigs {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     s.EntryName(),
			Mode:     0o644,
			Size:     int64(len(s.Value)),
			ModTime:  time.Unix(mtime.Unix(), 0),
			Uname:    "root",
			Gname:    "root",
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write signature: %w", err)
		}
		if _, err := tw.Write(s.Value); err != nil {
			return fmt.Errorf("write signature: %w", err)
		}
	}
	// Flush pads the last entry; Close would add the end-of-archive
	// blocks, which must not be in this segment.
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write signature: %w", err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write signature: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write signature: %w", err)
	}
	return nil
}

// maxSignatureSize bounds one signature entry (a 16384-bit key gives 2048
// bytes; apk 3 ignores entries over 64 KiB).
const maxSignatureSize = 64 << 10

// maxKeyNameLen bounds the key name of a signature entry: it names a key
// file, and a PAX header could otherwise make it a megabyte long.
const maxKeyNameLen = 255

// ReadSignatureEntry reads the content of the signature entry hdr from tr.
// ok is false when hdr is not a signature entry.
func ReadSignatureEntry(hdr *tar.Header, r io.Reader) (sig Signature, ok bool, err error) {
	alg, key, ok := ParseEntryName(hdr.Name)
	if !ok {
		return Signature{}, false, nil
	}
	if len(key) > maxKeyNameLen {
		return Signature{}, true, fmt.Errorf("signature entry: key name of %d bytes is too long", len(key))
	}
	if hdr.Size > maxSignatureSize || hdr.Size < 0 {
		return Signature{}, true, fmt.Errorf("signature %s: %d bytes is too large", hdr.Name, hdr.Size)
	}
	val := make([]byte, hdr.Size)
	if _, err := io.ReadFull(r, val); err != nil {
		return Signature{}, true, fmt.Errorf("signature %s: %w", hdr.Name, noEOF(err))
	}
	return Signature{Algorithm: alg, KeyName: key, Value: val}, true, nil
}

// noEOF turns a bare io.EOF inside a structure into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
