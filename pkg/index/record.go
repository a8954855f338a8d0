package index

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apkit-dev/apkit/pkg/version"
)

// Record is one package's entry in an APKINDEX: the package's identity and
// the fields apk reads from its .PKGINFO, by their index letters. The zero
// value is an empty record. A Record is a plain value; it is not safe for
// concurrent mutation.
type Record struct {
	// Checksum is the C: identity, "Q1" followed by the standard base64 of
	// the SHA-1 of the package's control gzip member (see [Identity]).
	Checksum string
	// Name is P: the package name.
	Name string
	// Version is V: the full version including -rN.
	Version string
	// Arch is A: the architecture; "" means the line is absent.
	Arch string
	// Size is S: the size of the .apk file in bytes.
	Size int64
	// InstalledSize is I: the installed size in bytes.
	InstalledSize int64
	// Description is T: the one-line description (pkgdesc).
	Description string
	// URL is U: the upstream URL.
	URL string
	// License is L: the license expression.
	License string
	// Origin is o: the name of the recipe's main package; "" means absent.
	Origin string
	// Maintainer is m: "Name <email>"; "" means absent.
	Maintainer string
	// BuildTime is t: the build time in Unix seconds; 0 means absent.
	BuildTime int64
	// Commit is c: the recipe's commit; "" means absent.
	Commit string
	// ProviderPriority is k: the provider priority; 0 means absent.
	ProviderPriority int64
	// Depends holds the D: items ([!]name[op version]).
	Depends []string
	// Provides holds the p: items.
	Provides []string
	// InstallIf holds the i: items.
	InstallIf []string
	// Empty lists the letters of the optional fields A, o, m and c that
	// are present with an empty value, in any order: apk 2.14 writes a
	// bare "c:" line for a package whose .PKGINFO has "commit = " (abuild
	// writes it when the recipe is not in git), and likewise for arch,
	// origin and maintainer. Such a field is written as a bare line when
	// its value is empty; letters outside A, o, m, c are ignored.
	Empty string
	// Extra holds lines with letters apk's index does not define, in the
	// order read. They are written back after the known fields so that an
	// index read and written again keeps them; indexes apkit builds never
	// have any.
	Extra []Field
}

// Field is one "X:value" line of a record whose letter is not one of the
// fields [Record] names.
type Field struct {
	Key   byte   // the field's letter
	Value string // the text after the colon
}

// FileName returns the name apk expects the record's package file to have in
// the repository: P-V.apk.
func (r *Record) FileName() string { return r.Name + "-" + r.Version + ".apk" }

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	c := *r
	c.Depends = slices.Clone(r.Depends)
	c.Provides = slices.Clone(r.Provides)
	c.InstallIf = slices.Clone(r.InstallIf)
	c.Extra = slices.Clone(r.Extra)
	return &c
}

// Identity returns the C: form of a package identity: "Q1" followed by the
// standard base64 (with padding) of the 20-byte SHA-1 digest of the package's
// control gzip member. It panics if sum is not 20 bytes long.
func Identity(sum []byte) string {
	if len(sum) != sha1.Size {
		panic(fmt.Sprintf("index.Identity: digest of %d bytes, want %d", len(sum), sha1.Size))
	}
	return "Q1" + base64.StdEncoding.EncodeToString(sum)
}

// IdentityOf returns the C: identity of a package whose control gzip member
// (the exact compressed bytes, header to trailer) is ctl.
func IdentityOf(ctl []byte) string {
	sum := sha1.Sum(ctl)
	return Identity(sum[:])
}

// ErrBadIdentity is returned by [ParseIdentity] for a value that is none of
// the forms apk accepts.
var ErrBadIdentity = errors.New("bad package identity")

// ParseIdentity decodes a C: value into its digest: "Q1" + base64 or "X1" +
// hex (SHA-1, 20 bytes), or 32 bare hex digits (legacy MD5, 16 bytes).
func ParseIdentity(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "Q1"):
		b, err := base64.StdEncoding.Strict().DecodeString(s[2:])
		if err != nil || len(b) != sha1.Size {
			return nil, fmt.Errorf("%w: %q", ErrBadIdentity, s)
		}
		return b, nil
	case strings.HasPrefix(s, "X1"):
		b, err := hex.DecodeString(s[2:])
		if err != nil || len(b) != sha1.Size {
			return nil, fmt.Errorf("%w: %q", ErrBadIdentity, s)
		}
		return b, nil
	case len(s) == 32:
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %q", ErrBadIdentity, s)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrBadIdentity, s)
}

// Sort orders records as apk index writes them: by package name compared
// ASCII case-insensitively (byte order breaking ties), then by version, then
// by identity so that the order is total. Versions are compared as apk
// compares them ([version.Compare]).
func Sort(recs []*Record) {
	sort.SliceStable(recs, func(i, j int) bool { return Less(recs[i], recs[j]) })
}

// Less reports whether a sorts before b in the order of [Sort].
func Less(a, b *Record) bool {
	if c := compareFold(a.Name, b.Name); c != 0 {
		return c < 0
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if c := version.Compare(a.Version, b.Version); c != 0 {
		return c < 0
	}
	return a.Checksum < b.Checksum
}

// compareFold compares ASCII case-insensitively, as strcasecmp in the C locale.
func compareFold(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Unsatisfied returns, sorted, the dependency names (D: items other than
// conflicts) that no record provides, by its name or a p: item: what apk
// index warns about ("No provider for the dependencies"). Versions are not
// compared. An item that does not parse is returned whole.
func Unsatisfied(recs []*Record) []string {
	provided := map[string]bool{}
	for _, r := range recs {
		provided[r.Name] = true
		for _, p := range r.Provides {
			provided[depName(p)] = true
		}
	}
	missing := map[string]bool{}
	for _, r := range recs {
		for _, d := range r.Depends {
			if strings.HasPrefix(d, "!") {
				continue
			}
			if n := depName(d); !provided[n] {
				missing[n] = true
			}
		}
	}
	out := make([]string, 0, len(missing))
	for n := range missing {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// depName returns the name of a dependency or provides item.
func depName(item string) string {
	d, err := version.ParseDependency(item)
	if err != nil {
		return item
	}
	return d.Name
}
