package version

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDependency is wrapped by every error that reports a malformed dependency item.
var ErrDependency = errors.New("invalid dependency")

// OpChars are the characters a dependency operator is made of. apk reads an
// operator as any run of them: each '<' allows an older version, each '>' a
// newer one, each '=' an equal one, and each '~' an equal one under fuzzy
// comparison. So "=>" means ">=", and "~=" and "=~" mean "~".
const OpChars = "<>=~"

// PkginfoOps are the operators abuild accepts in the depends and provides it
// writes to .PKGINFO (abuild's check_depver); it refuses any other spelling
// there, though apk reads it.
var PkginfoOps = []string{"<", ">", "=", "~", ">=", "<=", ">~", "<~"}

// The result bits of a comparison and of an operator, as apk numbers them.
const (
	matchEqual   = 1
	matchLess    = 2
	matchGreater = 4
	matchFuzzy   = 8
	// matchChecksum is what "><" (or "<>") gives: the version is a package
	// checksum, not a version.
	matchChecksum = matchLess | matchGreater
)

// Dependency is one item of a relation list: `[!]name[op version]`.
// The zero value is meaningless; build one with [ParseDependency].
type Dependency struct {
	// Name is the package or virtual name (so:, cmd:, pc:, py3.x: prefixes
	// and paths such as /bin/sh included).
	Name string
	// Conflict is true for `!name`.
	Conflict bool
	// Op is the operator as written: a run of the characters in [OpChars]
	// (">=", "~", "=~", "=>", ...), "" when no version is given.
	Op string
	// Version is the version after Op, "" when none.
	Version string
}

// opMask returns the result bits an operator accepts.
func opMask(op string) int {
	m := 0
	for i := 0; i < len(op); i++ {
		switch op[i] {
		case '<':
			m |= matchLess
		case '>':
			m |= matchGreater
		case '=':
			m |= matchEqual
		case '~':
			m |= matchEqual | matchFuzzy
		}
	}
	return m
}

// ParseDependency parses one dependency item the way apk does: the name
// runs up to the first operator character, the operator is the whole run of
// operator characters that follows, and the rest is the version, which must
// be valid (see [Valid]) unless the operator is "><" (a checksum).
func ParseDependency(s string) (Dependency, error) {
	return parseDependency(s, Valid)
}

// ReadDependency parses an item as apk 2.x reads one from an index, an
// installed database or a world file: as [ParseDependency] does, but the
// version may be one only apk 2 reads (see [ValidApk2]).
func ReadDependency(s string) (Dependency, error) {
	return parseDependency(s, ValidApk2)
}

func parseDependency(s string, valid func(string) bool) (Dependency, error) {
	var d Dependency
	rest := s
	if strings.HasPrefix(rest, "!") {
		d.Conflict = true
		rest = rest[1:]
	}
	i := strings.IndexAny(rest, OpChars)
	if i < 0 {
		d.Name = rest
	} else {
		d.Name = rest[:i]
		tail := rest[i:]
		n := 0
		for n < len(tail) && strings.IndexByte(OpChars, tail[n]) >= 0 {
			n++
		}
		d.Op, d.Version = tail[:n], tail[n:]
		if d.Version == "" {
			return Dependency{}, fmt.Errorf("%w %q: operator %q without a version", ErrDependency, s, d.Op)
		}
		if opMask(d.Op) != matchChecksum && !valid(d.Version) {
			return Dependency{}, fmt.Errorf("%w %q: %q is not a valid version", ErrDependency, s, d.Version)
		}
	}
	if d.Name == "" {
		return Dependency{}, fmt.Errorf("%w %q: empty name", ErrDependency, s)
	}
	if strings.ContainsAny(d.Name, " \t\n!") {
		return Dependency{}, fmt.Errorf("%w %q: bad character in name", ErrDependency, s)
	}
	return d, nil
}

// String returns the item in its written form: the operator is kept as
// written, as abuild copies items into .PKGINFO.
func (d Dependency) String() string {
	var b strings.Builder
	if d.Conflict {
		b.WriteByte('!')
	}
	b.WriteString(d.Name)
	b.WriteString(d.Op)
	b.WriteString(d.Version)
	return b.String()
}

// CheckPkginfo reports an error, wrapping [ErrDependency], when abuild
// would refuse the item in a .PKGINFO depends or provides list: when the
// operator is not one of [PkginfoOps].
func (d Dependency) CheckPkginfo() error {
	if d.Op == "" {
		return nil
	}
	for _, op := range PkginfoOps {
		if d.Op == op {
			return nil
		}
	}
	return fmt.Errorf("%w %q: abuild writes only the operators %s to .PKGINFO, not %q",
		ErrDependency, d.String(), strings.Join(PkginfoOps, " "), d.Op)
}

// ParseDependencies splits a list on blanks and parses each item.
func ParseDependencies(list string) ([]Dependency, error) {
	var deps []Dependency
	var errs []error
	for _, f := range strings.Fields(list) {
		d, err := ParseDependency(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		deps = append(deps, d)
	}
	return deps, errors.Join(errs...)
}

// Satisfies reports whether version v (a valid version string) meets the
// item's constraint the way apk matches a package against a dependency; an
// item without a version accepts any version. The Conflict flag is not
// considered, and a checksum item ("><") matches no version.
//
// A fuzzy operator ('~') compares the versions only as far as both go:
// foo~1.2 accepts 1.2, 1.2.5, 1.2-r3 and also 1, but not 1.3 nor 1.20.
func (d Dependency) Satisfies(v string) bool {
	if d.Op == "" {
		return true
	}
	m := opMask(d.Op)
	if m == matchChecksum {
		return false
	}
	return compareMatch(v, d.Version, m&matchFuzzy != 0)&m != 0
}

// compareMatch compares version a with version b as apk does for a
// dependency, returning matchLess, matchEqual or matchGreater. With fuzzy,
// versions equal as far as the shorter goes are equal. An invalid version
// compares as anything.
func compareMatch(a, b string, fuzzy bool) int {
	var bufA, bufB [tokenBuf]token
	ta, _, err1 := appendTokens(bufA[:0], a, true, true)
	tb, _, err2 := appendTokens(bufB[:0], b, true, true)
	if err1 != nil || err2 != nil {
		return matchLess | matchEqual | matchGreater
	}
	switch compareTokens(ta, tb, fuzzy) {
	case -1:
		return matchLess
	case 1:
		return matchGreater
	}
	return matchEqual
}

// IsChecksum reports whether the item pins a package identity rather than
// a version: its operator is "><" (or "<>"), and its version is the
// package's C: checksum, as apk writes for a package added from a file.
func (d Dependency) IsChecksum() bool { return d.Op != "" && opMask(d.Op) == matchChecksum }

// CanonicalOp returns the operator as apk prints it: "<", "<=", "=", "~",
// ">=", ">" or "><" for the operators that mean those, "" for an item
// without a version, and "?" for a run apk has no spelling for (such as
// ">~" or "<>=").
func (d Dependency) CanonicalOp() string {
	if d.Op == "" {
		return ""
	}
	switch opMask(d.Op) {
	case matchLess:
		return "<"
	case matchLess | matchEqual:
		return "<="
	case matchEqual | matchFuzzy:
		return "~"
	case matchEqual:
		return "="
	case matchGreater | matchEqual:
		return ">="
	case matchGreater:
		return ">"
	case matchChecksum:
		return "><"
	}
	return "?"
}
