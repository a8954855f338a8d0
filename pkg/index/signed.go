package index

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// WriteSigned writes a signed APKINDEX.tar.gz to w: a signature member
// with key's signature, by algorithm alg ("" means [sign.RSA256]), over the
// unsigned member [Write] makes, then that member. The
// signature entry's mtime is ix.ModTime. With a nil key it writes the
// unsigned index.
func WriteSigned(w io.Writer, ix *Index, key *sign.PrivateKey, alg sign.Algorithm) error {
	if key == nil {
		return Write(w, ix)
	}
	if alg == "" {
		alg = sign.RSA256
	}
	var body bytes.Buffer
	if err := Write(&body, ix); err != nil {
		return err
	}
	sig, err := key.SignBytes(alg, body.Bytes())
	if err != nil {
		return fmt.Errorf("sign index: %w", err)
	}
	mtime := ix.ModTime
	if mtime.IsZero() || mtime.Unix() < 0 {
		mtime = time.Unix(0, 0)
	}
	if err := sign.WriteSignatureMember(w, []sign.Signature{sig}, mtime); err != nil {
		return fmt.Errorf("sign index: %w", err)
	}
	_, err = w.Write(body.Bytes())
	return err
}

// ReadVerified reads an APKINDEX.tar.gz as [Read] does and checks its
// signature against the trusted keys in kr as apk does (a nil kr trusts no
// key). The error wraps [sign.ErrUntrusted] when no signature names a
// trusted key, in which case the index is returned too, for callers that
// allow that; or [sign.ErrBadSignature] when the signature does not verify.
func ReadVerified(r io.Reader, kr *sign.Keyring) (*Index, error) {
	return ReadVerifiedFunc(r, kr, nil)
}

// ReadVerifiedFunc is [ReadVerified] for a caller that works on the
// records while the rest of the index is still being read: fn (when not
// nil) is called with each batch of records, in the order of the text, as
// soon as they are parsed. fn runs before the signature is checked, so
// whatever it makes of the records must be thrown away when
// ReadVerifiedFunc fails (or, for an index accepted although untrusted,
// kept only as ReadVerified's result would be). The batches
// together are the returned Index's Records.
func ReadVerifiedFunc(r io.Reader, kr *sign.Keyring, fn func([]*Record)) (*Index, error) {
	if kr == nil {
		kr = &sign.Keyring{}
	}
	var ix *Index
	res, verr := sign.VerifyStream(r, kr, func(member io.Reader) error {
		if ix != nil {
			return fmt.Errorf("read index: more than one signed member")
		}
		var err error
		ix, err = readTar(member, false, fn)
		return err
	})
	if verr != nil && !errors.Is(verr, sign.ErrUntrusted) {
		return nil, fmt.Errorf("verify index: %w", verr)
	}
	if ix == nil {
		return nil, fmt.Errorf("verify index: %w", ErrNoText)
	}
	for _, s := range res.Signatures {
		ix.Signatures = append(ix.Signatures, s.EntryName())
	}
	if verr != nil {
		return ix, fmt.Errorf("verify index: %w", verr)
	}
	return ix, nil
}
