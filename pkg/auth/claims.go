package auth

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Rule is the set of values a claim may take: each value matches exactly,
// or, when it holds one of the glob characters '*', '?' or '[', as a
// pattern in the syntax of [path.Match] ('*' does not cross '/', so
// "group/*" matches "group/app" but not "group/sub/app"). A claim matches
// the rule when it matches any of its values. The zero Rule matches nothing.
type Rule []string

// Match reports whether the claim value v matches the rule.
func (r Rule) Match(v string) bool {
	for _, want := range r {
		if isGlob(want) {
			if ok, err := path.Match(want, v); err == nil && ok {
				return true
			}
			continue
		}
		if want == v {
			return true
		}
	}
	return false
}

// Validate checks that every pattern in the rule is well formed.
func (r Rule) Validate() error {
	if len(r) == 0 {
		return fmt.Errorf("no allowed value")
	}
	for _, want := range r {
		if isGlob(want) {
			if _, err := path.Match(want, ""); err != nil {
				return fmt.Errorf("pattern %q: %w", want, err)
			}
		}
	}
	return nil
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// ClaimError says that a required claim is missing or does not have an
// allowed value. Its message names the claim, never the allowed values.
type ClaimError struct {
	Claim   string // the claim's name
	Missing bool   // true when the token lacks the claim, false when its value is not allowed
	// Identity is who the token, valid in every other way, names; for
	// the logs of a refusal (nil when not known).
	Identity *Identity
}

// Error names the claim and says whether it is missing or not allowed.
func (e *ClaimError) Error() string {
	if e.Missing {
		return fmt.Sprintf("claim %q is missing", e.Claim)
	}
	return fmt.Sprintf("claim %q does not have an allowed value", e.Claim)
}

// Is makes errors.Is(err, ErrForbidden) true for claim errors.
func (e *ClaimError) Is(target error) bool { return target == ErrForbidden }

// checkRules checks the token's claims against the rules, in claim name
// order so that the first failure reported is stable.
func checkRules(rules map[string]Rule, claims map[string]any) error {
	names := make([]string, 0, len(rules))
	for n := range rules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		raw, ok := claims[n]
		if !ok || raw == nil {
			return &ClaimError{Claim: n, Missing: true}
		}
		s, ok := claimString(raw)
		if !ok || !rules[n].Match(s) {
			return &ClaimError{Claim: n}
		}
	}
	return nil
}

// claimString renders a scalar claim as text: strings as they are, booleans
// as true or false, numbers as JSON writes them. Objects and arrays have no
// text form and match no rule.
func claimString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	}
	return "", false
}
