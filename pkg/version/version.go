package version

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error that reports a malformed version.
var ErrInvalid = errors.New("invalid version")

// maxDigits is the longest number apk 2.14 accepts in a version component.
const maxDigits = 17

// suffixes maps each suffix word to its rank; negative ones (pre-releases)
// sort before the bare version.
var suffixes = map[string]int{
	"alpha": -4, "beta": -3, "pre": -2, "rc": -1,
	"cvs": 0, "svn": 1, "git": 2, "hg": 3, "p": 4,
}

// Version is a parsed apk version. The zero value is not a valid version;
// build one with [Parse].
type Version struct {
	s      string
	tokens []token
	// Release is the -rN revision, or -1 when the version has none.
	release int64
}

// String returns the version as it was written.
func (v Version) String() string { return v.s }

// HasRelease reports whether the version carries a -rN revision.
func (v Version) HasRelease() bool { return v.release >= 0 }

// Release returns the N of -rN, or -1 when there is none.
func (v Version) Release() int64 { return v.release }

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w.
func (v Version) Compare(w Version) int { return compareTokens(v.tokens, w.tokens, false) }

// tokenKind ranks token kinds; the order matters for comparison.
type tokenKind int

const (
	kindNumber tokenKind = iota
	kindLetter
	kindSuffix
	kindSuffixNumber
	kindRevision
	kindEnd
)

// token is one component of a version. Number components after the first
// carry zeros, the count of leading zeros (apk 2.14 ranks them lower).
type token struct {
	kind  tokenKind
	value int64
	zeros int
}

// tokenBuf is the size of the stack arrays that checks and comparisons
// tokenize into; longer versions spill to the heap.
const tokenBuf = 16

// Parse parses s with the strict grammar. It accepts the -rN revision.
func Parse(s string) (Version, error) {
	toks, rel, err := tokenize(s, true, false)
	if err != nil {
		return Version{}, err
	}
	return Version{s: s, tokens: toks, release: rel}, nil
}

// Valid reports whether s is a valid version (with or without -rN).
func Valid(s string) bool {
	var buf [tokenBuf]token
	_, _, err := appendTokens(buf[:0], s, true, false)
	return err == nil
}

// ValidPkgver reports whether s is a valid pkgver: a version without -rN.
func ValidPkgver(s string) bool {
	var buf [tokenBuf]token
	_, _, err := appendTokens(buf[:0], s, false, false)
	return err == nil
}

// ValidApk2 reports whether apk-tools 2.x reads s as a version: the strict
// grammar of [Valid], or apk 2's wider one, where a number may follow the
// letter and a letter may follow that number again (6.8.0p2, 0.99f7).
// Such versions are in real Alpine indexes made before abuild refused
// them.
func ValidApk2(s string) bool {
	var buf [tokenBuf]token
	_, _, err := appendTokens(buf[:0], s, true, true)
	return err == nil
}

func invalid(s string, at int, why string) error {
	return fmt.Errorf("%w %q: %s at offset %d", ErrInvalid, s, why, at)
}

// number scans digits at s[i:], returning the value, leading zero count and
// the index after the digits.
func number(s string, i int) (val int64, zeros int, end int, ok bool) {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i || j-i > maxDigits {
		return 0, 0, j, false
	}
	for k := i; k < j && s[k] == '0'; k++ {
		zeros++
	}
	for k := i; k < j; k++ {
		val = val*10 + int64(s[k]-'0')
	}
	return val, zeros, j, true
}

// tokenize parses s into comparison tokens: strictly, or with lenient
// with apk 2's grammar, which lets a number follow a letter.
func tokenize(s string, allowRel, lenient bool) ([]token, int64, error) {
	return appendTokens(make([]token, 0, 8), s, allowRel, lenient)
}

// appendTokens is tokenize appending to toks: callers that only check or
// compare pass a stack array, so that no token is allocated.
func appendTokens(toks []token, s string, allowRel, lenient bool) ([]token, int64, error) {
	if s == "" {
		return nil, -1, fmt.Errorf("%w: empty", ErrInvalid)
	}
	v, _, i, ok := number(s, 0)
	if !ok {
		if i > maxDigits {
			return nil, -1, invalid(s, 0, "number too long")
		}
		return nil, -1, invalid(s, 0, "must start with a digit")
	}
	toks = append(toks, token{kind: kindNumber, value: v})
	for {
		for i < len(s) && s[i] == '.' {
			n, z, j, ok := number(s, i+1)
			if !ok {
				return nil, -1, invalid(s, i+1, "expected a number after '.'")
			}
			toks = append(toks, token{kind: kindNumber, value: n, zeros: z})
			i = j
		}
		if i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
			toks = append(toks, token{kind: kindLetter, value: int64(s[i])})
			i++
			if lenient && i < len(s) && s[i] >= '0' && s[i] <= '9' {
				n, _, j, ok := number(s, i)
				if !ok {
					return nil, -1, invalid(s, i, "number too long")
				}
				toks = append(toks, token{kind: kindNumber, value: n})
				i = j
				continue
			}
		}
		break
	}
	for i < len(s) && s[i] == '_' {
		j := i + 1
		for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
			j++
		}
		rank, ok := suffixes[s[i+1:j]]
		if !ok {
			return nil, -1, invalid(s, i+1, "unknown suffix")
		}
		toks = append(toks, token{kind: kindSuffix, value: int64(rank)})
		i = j
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n, _, j, ok := number(s, i)
			if !ok {
				return nil, -1, invalid(s, i, "number too long")
			}
			toks = append(toks, token{kind: kindSuffixNumber, value: n})
			i = j
		}
	}
	rel := int64(-1)
	if allowRel && strings.HasPrefix(s[i:], "-r") {
		n, _, j, ok := number(s, i+2)
		if !ok {
			return nil, -1, invalid(s, i+2, "expected a number after '-r'")
		}
		toks = append(toks, token{kind: kindRevision, value: n})
		rel = n
		i = j
	}
	if i != len(s) {
		return nil, -1, invalid(s, i, fmt.Sprintf("unexpected %q", s[i:i+1]))
	}
	return toks, rel, nil
}

// compareTokens implements apk's ordering over token sequences. With
// fuzzy, sequences whose common tokens are equal are equal, whatever follows
// in the longer one (apk's fuzzy comparison for '~').
func compareTokens(a, b []token, fuzzy bool) int {
	i := 0
	for ; i < len(a) && i < len(b); i++ {
		ta, tb := a[i], b[i]
		if ta.kind != tb.kind {
			break
		}
		if c := compareValues(ta, tb, i); c != 0 {
			return c
		}
	}
	if fuzzy {
		return 0
	}
	ka, kb := kindEnd, kindEnd
	var ta, tb token
	if i < len(a) {
		ta = a[i]
		ka = ta.kind
	}
	if i < len(b) {
		tb = b[i]
		kb = tb.kind
	}
	if ka == kb {
		return 0
	}
	// A pre-release suffix makes its side older.
	if ka == kindSuffix && ta.value < 0 {
		return -1
	}
	if kb == kindSuffix && tb.value < 0 {
		return 1
	}
	// Otherwise the side whose next token ranks higher (or that ended) is older.
	if ka > kb {
		return -1
	}
	return 1
}

// compareValues compares two tokens of the same kind at position i.
func compareValues(a, b token, i int) int {
	if a.kind == kindNumber && i > 0 && (a.zeros > 0 || b.zeros > 0) {
		// apk 2.14: a zero-led component ranks below a non-zero-led one;
		// more leading zeros rank lower; equal counts compare numerically.
		switch {
		case a.zeros == 0:
			return 1
		case b.zeros == 0:
			return -1
		case a.zeros != b.zeros:
			if a.zeros < b.zeros {
				return 1
			}
			return -1
		}
	}
	switch {
	case a.value < b.value:
		return -1
	case a.value > b.value:
		return 1
	}
	return 0
}

// Compare orders two version strings: -1 if a is older than b, 0 if equal,
// +1 if newer. Versions only apk 2 reads (see [ValidApk2]) compare as apk
// 2.14 compares them. Invalid versions sort before valid ones and among themselves
// by byte order, so Compare is a total order usable with sort functions.
func Compare(a, b string) int {
	var bufA, bufB [tokenBuf]token
	ta, _, ea := appendTokens(bufA[:0], a, true, true)
	tb, _, eb := appendTokens(bufB[:0], b, true, true)
	switch {
	case ea == nil && eb == nil:
		return compareTokens(ta, tb, false)
	case ea != nil && eb != nil:
		return strings.Compare(a, b)
	case ea != nil:
		return -1
	}
	return 1
}
