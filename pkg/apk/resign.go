package apk

import (
	"fmt"
	"io"
	"time"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// Resign writes to w the package in r signed with key: a new signature
// segment first (the new signature, then existing signatures by other
// keys; one by the same key name is replaced), then the control and data
// segments unchanged. The signature covers the control segment, or, for a
// legacy package without datahash, control and data. r is read twice. It
// returns an error wrapping [ErrNotPackage] when r holds no package (an
// index, say).
func Resign(w io.Writer, r io.ReadSeeker, key *sign.PrivateKey, alg sign.Algorithm, mtime time.Time) error {
	h := alg.Hash()
	if h == 0 {
		return fmt.Errorf("resign: unknown algorithm %q", alg)
	}
	p, err := Read(r, &ReadOptions{ControlOnly: true})
	if err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	if _, err := r.Seek(p.Control.Offset, io.SeekStart); err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	d := h.New()
	if p.Info.DataHash != "" {
		_, err = io.CopyN(d, r, p.Control.Length)
	} else {
		_, err = io.Copy(d, r)
	}
	if err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	sig, err := key.Sign(alg, d.Sum(nil))
	if err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	sigs := []sign.Signature{sig}
	for _, s := range p.Signatures {
		if s.KeyName != key.Name {
			sigs = append(sigs, s)
		}
	}
	if err := sign.WriteSignatureMember(w, sigs, mtime); err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	if _, err := r.Seek(p.Control.Offset, io.SeekStart); err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	return nil
}
