package sandbox

import (
	"path/filepath"
	"sort"
	"strings"
)

type mountKind int

const (
	mountHide mountKind = iota
	mountHideFile
	mountRO
	mountRW
)

type mount struct {
	path string
	kind mountKind
}

// orderMounts cleans, de-duplicates and orders mounts so that a parent is
// mounted before anything inside it; for the same path the later kind
// (writable over read-only over hidden) wins.
func orderMounts(ms []mount) []mount {
	best := map[string]mountKind{}
	for _, m := range ms {
		if m.path == "" {
			continue
		}
		p := filepath.Clean(m.path)
		if k, ok := best[p]; !ok || m.kind > k {
			best[p] = m.kind
		}
	}
	out := make([]mount, 0, len(best))
	for p, k := range best {
		out = append(out, mount{p, k})
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := strings.Count(out[i].path, "/"), strings.Count(out[j].path, "/")
		if di != dj {
			return di < dj
		}
		return out[i].path < out[j].path
	})
	return out
}
