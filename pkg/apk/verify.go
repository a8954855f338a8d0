package apk

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apkit-dev/apkit/pkg/sign"
)

// Problem is the first check a package failed in [Verify].
type Problem int

// The checks [Verify] makes, from the most to the least serious.
const (
	// OK: every check passed.
	OK Problem = iota
	// Truncated: the file ends before the package does.
	Truncated
	// Malformed: the gzip or tar structure is one apk refuses.
	Malformed
	// BadSignature: the signature by a trusted key does not verify.
	BadSignature
	// DataHashMismatch: the data segment does not match datahash.
	DataHashMismatch
	// ChecksumMismatch: a file's content does not match its checksum record.
	ChecksumMismatch
	// Untrusted: no signature is by a trusted key (the package may be
	// intact otherwise).
	Untrusted
)

// String returns the reason as apkit verify prints it.
func (p Problem) String() string {
	switch p {
	case OK:
		return "OK"
	case Truncated:
		return "truncated"
	case Malformed:
		return "BAD archive"
	case BadSignature:
		return "BAD signature"
	case DataHashMismatch:
		return "checksum mismatch"
	case ChecksumMismatch:
		return "checksum mismatch"
	case Untrusted:
		return "UNTRUSTED"
	}
	return fmt.Sprintf("Problem(%d)", int(p))
}

// Sentinel errors for the failed checks; a [Result]'s Err wraps one.
var (
	ErrTruncated        = errors.New("truncated")
	ErrDataHashMismatch = errors.New("data segment does not match datahash")
	ErrChecksumMismatch = errors.New("file content does not match its checksum")
	// ErrNoDataHash is a package whose .PKGINFO has no datahash line: its
	// signature covers the data segment too, so a check with
	// VerifyOptions.ControlOnly cannot verify it.
	ErrNoDataHash = errors.New("package has no datahash (made by an old abuild?)")
)

// Result is the outcome of [Verify].
type Result struct {
	// Problem is the most serious check that failed (OK when none did).
	Problem Problem
	// Err explains Problem; nil when OK. It wraps sign.ErrUntrusted,
	// sign.ErrBadSignature, ErrMalformed, ErrTruncated,
	// ErrDataHashMismatch or ErrChecksumMismatch.
	Err error
	// Package is what could be read (nil when not even the signatures
	// could).
	Package *Package
	// Signature is the signature that was checked (nil when none names a
	// trusted key).
	Signature *sign.Signature
}

// VerifyOptions tune [Verify].
type VerifyOptions struct {
	// AllowUntrusted checks integrity only: a package without a signature
	// by a trusted key is OK if everything else is.
	AllowUntrusted bool
	// ControlOnly stops after the control segment, as apk index does: the
	// signature, the structure of the signature and control segments and
	// .PKGINFO are checked, but the data segment is neither read nor
	// compared with datahash (apk checks it when it installs the package).
	// It costs a small fraction of a full check.
	ControlOnly bool
	// Read is passed to [Read] (its ControlOnly is replaced by the one
	// above). Set Read.NoFileList when Result.Package.Files is not needed.
	Read ReadOptions
}

// Verify reads a package from r and checks it as apk verify does, and
// more: the archive structure, the signature against kr (as apk picks it:
// the first one by a trusted key), datahash against the data segment, and
// every file's checksum record. A nil kr trusts no key. With
// opts.ControlOnly it checks only what precedes the data segment.
func Verify(r io.Reader, kr *sign.Keyring, opts *VerifyOptions) *Result {
	if opts == nil {
		opts = &VerifyOptions{}
	}
	ro := opts.Read
	ro.ControlOnly = opts.ControlOnly
	p, err := Read(r, &ro)
	res := &Result{Package: p}
	if err != nil {
		if errors.Is(err, ErrNotPackage) {
			res.Problem, res.Err = Malformed, err
		} else if errors.Is(err, io.ErrUnexpectedEOF) {
			res.Problem, res.Err = Truncated, fmt.Errorf("%w: %w", ErrTruncated, err)
		} else {
			res.Problem, res.Err = Malformed, err
		}
		return res
	}
	if opts.ControlOnly && p.Info.DataHash == "" {
		res.Problem, res.Err = Malformed, fmt.Errorf("%w: its signature covers the data segment, which a check of the control segment alone does not read", ErrNoDataHash)
		return res
	}
	if i := kr.Select(p.Signatures); i >= 0 {
		s := p.Signatures[i]
		res.Signature = &s
		if _, err := kr.Verify([]sign.Signature{s}, p.SignedDigest); err != nil {
			res.Problem, res.Err = BadSignature, err
			return res
		}
	}
	if opts.ControlOnly {
		if res.Signature == nil && !opts.AllowUntrusted {
			res.Problem, res.Err = Untrusted, sign.ErrUntrusted
		}
		return res
	}
	if p.Info.DataHash != "" && !strings.EqualFold(p.Info.DataHash, hex.EncodeToString(p.DataSHA256[:])) {
		res.Problem, res.Err = DataHashMismatch, ErrDataHashMismatch
		return res
	}
	if p.MismatchCount > 0 {
		named := p.Mismatches[:min(len(p.Mismatches), 10)]
		list := strings.Join(named, ", ")
		if more := p.MismatchCount - len(named); more > 0 {
			list += fmt.Sprintf(" and %d more", more)
		}
		res.Problem, res.Err = ChecksumMismatch, fmt.Errorf("%w: %s", ErrChecksumMismatch, list)
		return res
	}
	if res.Signature == nil && !opts.AllowUntrusted {
		res.Problem, res.Err = Untrusted, sign.ErrUntrusted
	}
	return res
}
