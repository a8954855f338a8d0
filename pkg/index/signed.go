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
	if kr == nil {
		kr = &sign.Keyring{}
	}
	var ix *Index
	res, verr := sign.VerifyStream(r, kr, func(member io.Reader) error {
		if ix != nil {
			return fmt.Errorf("read index: more than one signed member")
		}
		var err error
		ix, err = readTar(member, false)
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
