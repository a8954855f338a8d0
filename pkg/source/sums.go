package source

import (
	"errors"
	"fmt"
	"strings"
)

// WithChecksums returns a copy of items with the checksum of each item
// taken from sums, the "<digest>  <name>" pairs of the recipe's checksum
// list for algo. Pairs are matched to items by saved name. A source
// without a pair and a pair without a source are errors, reported
// together; the returned items are valid for the sources that matched.
func WithChecksums(items []Item, algo Algo, sums []FileSum) ([]Item, error) {
	if algo.New() == nil {
		return nil, fmt.Errorf("unknown checksum algorithm %q", algo)
	}
	byName := make(map[string]string, len(sums))
	var errs []error
	for _, s := range sums {
		if _, dup := byName[s.Name]; dup {
			errs = append(errs, fmt.Errorf("%ssums: %s is listed twice", algo, s.Name))
			continue
		}
		d := strings.ToLower(s.Digest)
		if len(d) != algo.hexLen() || strings.Trim(d, "0123456789abcdef") != "" {
			errs = append(errs, fmt.Errorf("%ssums: %s: %q is not a %s digest", algo, s.Name, s.Digest, algo))
		}
		byName[s.Name] = d
	}
	out := make([]Item, len(items))
	used := map[string]bool{}
	for i, it := range items {
		out[i] = it
		d, ok := byName[it.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("source %s has no line in %ssums", it.Name, algo))
			continue
		}
		used[it.Name] = true
		out[i].Sum = Checksum{Algo: algo, Digest: d}
	}
	for _, s := range sums {
		if !used[s.Name] && byName[s.Name] != "" {
			errs = append(errs, fmt.Errorf("%ssums lists %s, which is not a source", algo, s.Name))
			used[s.Name] = true
		}
	}
	return out, errors.Join(errs...)
}
