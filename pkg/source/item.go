package source

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Algo names a checksum algorithm as an APKBUILD names its list:
// sha512 for sha512sums, sha256 for sha256sums, md5 for md5sums.
type Algo string

// The checksum algorithms a recipe can use, strongest first.
const (
	SHA512 Algo = "sha512"
	SHA256 Algo = "sha256"
	MD5    Algo = "md5"
)

// New returns a fresh hash for the algorithm, or nil when it is unknown.
func (a Algo) New() hash.Hash {
	switch a {
	case SHA512:
		return sha512.New()
	case SHA256:
		return sha256.New()
	case MD5:
		return md5.New()
	}
	return nil
}

// hexLen is the length of a digest of a in lowercase hex (0 when unknown).
func (a Algo) hexLen() int {
	if h := a.New(); h != nil {
		return 2 * h.Size()
	}
	return 0
}

// Checksum is the expected digest of a source. The zero value means "no
// checksum": the file is not verified.
type Checksum struct {
	Algo   Algo   // the digest algorithm; "" in the zero value
	Digest string // lowercase hex
}

// IsZero reports whether c holds no checksum.
func (c Checksum) IsZero() bool { return c.Algo == "" && c.Digest == "" }

// String returns "algo:digest".
func (c Checksum) String() string { return string(c.Algo) + ":" + c.Digest }

// Item is one source of a recipe, independent of how the recipe was read.
type Item struct {
	// Name is the file name the source is saved under, in the cache and in
	// $srcdir: the text after the last '/' of the URL, or the newname of a
	// newname::URL source, or the base name of a local file.
	Name string
	// URL is where a remote source comes from; "" for a local file.
	URL string
	// Local is the path of a local source (URL == ""), usually next to the
	// APKBUILD.
	Local string
	// Sum is the expected checksum; the zero value skips verification.
	Sum Checksum
}

// Remote reports whether the item is downloaded rather than read from a
// local file.
func (it Item) Remote() bool { return it.URL != "" }

// ErrChecksumMismatch is the sentinel of every [ChecksumError].
var ErrChecksumMismatch = errors.New("checksum mismatch")

// ChecksumError says that a file's digest is not the expected one. When
// the file was moved aside, MovedTo names where it went.
type ChecksumError struct {
	Name    string // the source's saved name
	Path    string // the file that was checked
	Algo    Algo   // the digest algorithm
	Want    string // expected digest
	Got     string // actual digest
	MovedTo string // where the bad file now is ("" when left in place)
	// Source is where a bad copy came from when that was the distfiles
	// mirror ("" otherwise).
	Source string
	// Remote is true for a downloaded source (cached or fetched anew),
	// false for a local file of the recipe.
	Remote bool
	// SameAsCached is true when a fresh download has the digest of the
	// copy already in the cache, which was verified when it was stored:
	// the upstream file did not change, the recipe's checksum did. The
	// cached copy is kept and the download dropped.
	SameAsCached bool
}

// Error names the source and both digests, and where the bad file went.
func (e *ChecksumError) Error() string {
	s := fmt.Sprintf("%s: %s mismatch: expected %s, got %s", e.Name, e.Algo, e.Want, e.Got)
	if e.Source != "" {
		s += " from mirror " + e.Source
	}
	if e.MovedTo != "" {
		s += fmt.Sprintf(" (bad file moved to %s)", e.MovedTo)
	}
	if e.SameAsCached {
		s += " (a fresh download matches the cached copy: the recipe's checksum is what differs)"
	}
	return s
}

// Is makes errors.Is(err, ErrChecksumMismatch) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksumMismatch }

// Sum returns the lowercase hex digest of everything r yields.
func Sum(r io.Reader, algo Algo) (string, error) {
	h := algo.New()
	if h == nil {
		return "", fmt.Errorf("unknown checksum algorithm %q", algo)
	}
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(h, r, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SumFile returns the lowercase hex digest of the file at path.
func SumFile(path string, algo Algo) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return Sum(f, algo)
}

// Verify checks the file at path against sum and returns a
// [*ChecksumError] on mismatch. It moves nothing; [Fetch] moves bad
// downloads aside itself. A zero sum verifies nothing.
func Verify(path string, sum Checksum) error {
	if sum.IsZero() {
		return nil
	}
	if sum.Algo.New() == nil {
		return fmt.Errorf("verify %s: unknown checksum algorithm %q", path, sum.Algo)
	}
	got, err := SumFile(path, sum.Algo)
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	if !strings.EqualFold(got, sum.Digest) {
		return &ChecksumError{Name: filepath.Base(path), Path: path, Algo: sum.Algo, Want: strings.ToLower(sum.Digest), Got: got}
	}
	return nil
}

// moveAside renames path, a file that failed verification, to
// "<final>.<first 8 hex digits of the expected digest>", as abuild does,
// so that the next run downloads it again while the bad copy stays for
// inspection. It returns the new path.
func moveAside(path, final, want string) (string, error) {
	suffix := want
	if len(suffix) > 8 {
		suffix = suffix[:8]
	}
	if suffix == "" {
		suffix = "bad"
	}
	dst := final + "." + strings.ToLower(suffix)
	if err := os.Rename(path, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// validName reports whether name may be a saved source name: only
// [A-Za-z0-9+@~._-], not "." or "..".
func validName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("+@~._-", r):
		default:
			return false
		}
	}
	return true
}
