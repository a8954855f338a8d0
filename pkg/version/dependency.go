package version

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDependency is wrapped by every error that reports a malformed dependency item.
var ErrDependency = errors.New("invalid dependency")

// Ops lists the relational operators a dependency item may use, longest first.
var Ops = []string{">=", "<=", ">~", "<~", "<", ">", "=", "~"}

// Dependency is one item of a relation list: `[!]name[op version]`.
// The zero value is meaningless; build one with [ParseDependency].
type Dependency struct {
	// Name is the package or virtual name (so:, cmd:, pc:, py3.x: prefixes
	// and paths such as /bin/sh included).
	Name string
	// Conflict is true for `!name`.
	Conflict bool
	// Op is the operator, "" when no version is given.
	Op string
	// Version is the version after Op, "" when none.
	Version string
}

// ParseDependency parses one dependency item. A version, when present, must
// be valid (see [Valid]).
func ParseDependency(s string) (Dependency, error) {
	var d Dependency
	rest := s
	if strings.HasPrefix(rest, "!") {
		d.Conflict = true
		rest = rest[1:]
	}
	i := strings.IndexAny(rest, "<>=~")
	if i < 0 {
		d.Name = rest
	} else {
		d.Name = rest[:i]
		tail := rest[i:]
		for _, op := range Ops {
			if strings.HasPrefix(tail, op) {
				d.Op = op
				break
			}
		}
		d.Version = tail[len(d.Op):]
		if d.Version == "" {
			return Dependency{}, fmt.Errorf("%w %q: operator %q without a version", ErrDependency, s, d.Op)
		}
		if !Valid(d.Version) {
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

// String returns the item in its written form.
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
// item's constraint; an item without a version accepts any version. The
// Conflict flag is not considered.
func (d Dependency) Satisfies(v string) bool {
	if d.Op == "" {
		return true
	}
	if d.Op == "~" || d.Op == ">~" || d.Op == "<~" {
		if fuzzyMatch(d.Version, v) {
			return true
		}
		if d.Op == "~" {
			return false
		}
	}
	c := Compare(v, d.Version)
	switch d.Op {
	case "=":
		return c == 0
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=", "<~":
		return c <= 0
	case ">=", ">~":
		return c >= 0
	}
	return false
}

// fuzzyMatch reports whether want is a token prefix of v (`foo~1.2`
// matches 1.2, 1.2.5 and 1.2-r3).
func fuzzyMatch(want, v string) bool {
	a, _, err1 := tokenize(want, true)
	b, _, err2 := tokenize(v, true)
	if err1 != nil || err2 != nil || len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i].kind != b[i].kind || compareValues(a[i], b[i], i) != 0 {
			return false
		}
	}
	return true
}
