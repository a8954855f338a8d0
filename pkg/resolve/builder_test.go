package resolve

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuilderMatchesNewDB builds a DB from the records of two real indexes
// given in batches of many sizes, and checks that it solves every request
// as the DB NewDB makes from the same records does, down to the order of
// the plan and apk's error reports.
func TestBuilderMatchesNewDB(t *testing.T) {
	t.Parallel()
	recs := readIndex(t, "alpine-317")
	other := readIndex(t, "alpine-316")
	installed := []Installed{{Record: recs[10]}, {Record: recs[200], Tag: "edge"}}
	cfg := Config{Arch: "aarch64", Installed: installed, Repositories: []Repository{
		{Records: recs},
		{Tag: "edge", Records: other},
	}}
	want, err := NewDB(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(cfg.Arch, installed)
	if err != nil {
		t.Fatal(err)
	}
	b.Add(recs[:5]) // before any repository: ignored
	for _, r := range cfg.Repositories {
		if err := b.Repository(r.Tag); err != nil {
			t.Fatal(err)
		}
		if r.Tag != "" {
			b.Grow(len(r.Records)) // a hint changes nothing but the maps' room
		}
		for i, size := 0, 1; i < len(r.Records); size = size*3 + 1 {
			n := min(size, len(r.Records)-i)
			b.Add(r.Records[i : i+n])
			i += n
		}
	}
	got := b.DB()
	names := []string{largestPlan, "build-base", "busybox", "curl@edge", "so:libcrypto.so.3", "py3-pip", "nosuch", "!musl", "gcc<1"}
	for i := 0; i < len(recs); i += 97 {
		names = append(names, recs[i].Name)
	}
	for _, n := range names {
		req := Request{Add: []string{n}}
		wp, werr := want.Solve(req)
		gp, gerr := got.Solve(req)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("%s: NewDB gives error %v, Builder %v", n, werr, gerr)
		}
		if werr != nil {
			continue
		}
		if diff := cmp.Diff(wp.Lines(), gp.Lines()); diff != "" {
			t.Fatalf("%s: plans differ (-NewDB +Builder):\n%s", n, diff)
		}
	}
	if !slices.Equal(want.tags, got.tags) {
		t.Errorf("tags %q, want %q", got.tags, want.tags)
	}
}

func TestBuilderRepositoryLimit(t *testing.T) {
	t.Parallel()
	b, err := NewBuilder("x86_64", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxRepos - 1 {
		if err := b.Repository(""); err != nil {
			t.Fatalf("repository %d: %v", i+1, err)
		}
	}
	if err := b.Repository(""); err == nil {
		t.Errorf("repository %d accepted", maxRepos)
	}
}
