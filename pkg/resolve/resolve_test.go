package resolve

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/google/go-cmp/cmp"
)

// records parses index text for a test, giving each record a checksum.
func records(t *testing.T, text string) []*index.Record {
	t.Helper()
	recs, err := index.ParseText([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	fillChecksums(recs)
	return recs
}

// names returns the plan's packages as name-version, in order.
func names(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		if c.New != nil {
			out = append(out, c.New.Name+"-"+c.New.Version)
		}
	}
	return out
}

// TestArch checks the architecture rule apk-tools 3 has and apk 2.14 has
// not (so no apk 2.14 output can be its expectation): a package of another
// architecture is not chosen while one that can be installed exists, and
// is reported when it is the only one.
func TestArch(t *testing.T) {
	t.Parallel()
	recs := records(t, `P:tool
V:2.0-r0
A:aarch64
I:4096

P:tool
V:1.0-r0
A:x86_64
I:4096

P:data
V:1.0-r0
A:noarch
I:4096

P:other
V:1.0-r0
A:aarch64
I:4096

`)
	db, err := NewDB(Config{Arch: "x86_64", Repositories: []Repository{{Records: recs}}})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.Solve(Request{Add: []string{"tool", "data"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"data-1.0-r0", "tool-1.0-r0"}, names(plan)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	_, err = db.Solve(Request{Add: []string{"other"}})
	var uerr *UnsatisfiableError
	if !errors.As(err, &uerr) {
		t.Fatalf("Solve(other) = %v, want an UnsatisfiableError", err)
	}
	want := "  other-1.0-r0:\n    error: uninstallable\n    arch: aarch64\n    satisfies: world[other]\n"
	if diff := cmp.Diff(want, uerr.Report); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	// Without an architecture, every record is installable, as in apk 2.14.
	db, err = NewDB(Config{Repositories: []Repository{{Records: recs}}})
	if err != nil {
		t.Fatal(err)
	}
	plan, err = db.Solve(Request{Add: []string{"tool"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tool-2.0-r0"}, names(plan)); diff != "" {
		t.Errorf("plan without arch (-want +got):\n%s", diff)
	}
}

// TestVirtualVersion checks the version apk gives a virtual package
// without one: the time, YYYYMMDD.HHMMSS in UTC.
func TestVirtualVersion(t *testing.T) {
	t.Parallel()
	db, err := NewDB(Config{Repositories: []Repository{{Records: records(t, "P:a\nV:1-r0\nI:1\n\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.FixedZone("x", 3600))
	plan, err := db.Solve(Request{Virtual: ".deps", Add: []string{"a"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a-1-r0", ".deps-20240203.030506"}, names(plan)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if v := plan.Virtual; v == nil || v.Arch != "noarch" || strings.Join(v.Depends, " ") != "a" {
		t.Errorf("Virtual = %+v", v)
	}
	if diff := cmp.Diff([]string{".deps=20240203.030506"}, plan.World); diff != "" {
		t.Errorf("World (-want +got):\n%s", diff)
	}
}

// TestBadRequest checks requests apk refuses before solving.
func TestBadRequest(t *testing.T) {
	t.Parallel()
	db, err := NewDB(Config{Repositories: []Repository{{Records: records(t, "P:a\nV:1-r0\nI:1\n\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"bad version", Request{Add: []string{"a>=x"}}, "'a>=x' is not a valid world dependency"},
		{"unknown tag", Request{Add: []string{"a@edge"}}, "the repository tag for world dependency 'a@edge' does not exist"},
		{"virtual conflict", Request{Virtual: "!v"}, "!v: bad world item: bad package specifier"},
		{"virtual range", Request{Virtual: "v>1"}, "v>1: bad world item: bad package specifier"},
		{"child tag", Request{Virtual: "v", Add: []string{"a@edge"}}, "'a@edge' is not a valid child dependency"},
		{"world file", Request{World: []string{"a=="}}, `world item "a==": bad world item`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.Solve(tt.req)
			if !errors.Is(err, ErrBadItem) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Solve = %v, want an ErrBadItem containing %q", err, tt.want)
			}
		})
	}
}

// TestSolveTwice checks that a DB gives the same plan again: Solve leaves
// no state behind, the virtual package included.
func TestSolveTwice(t *testing.T) {
	t.Parallel()
	recs := readIndex(t, "alpine-317")
	db, err := NewDB(Config{Arch: "aarch64", Repositories: []Repository{{Records: recs}}})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Virtual: ".x=1", Add: []string{"alpine-base", "git"}}
	first, err := db.Solve(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Solve(Request{Add: []string{"nonexistent", "!busybox", "alpine-base"}}); err == nil {
		t.Fatal("unsatisfiable request solved")
	}
	second, err := db.Solve(req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.Lines(), second.Lines()); diff != "" {
		t.Errorf("second solve differs (-first +second):\n%s", diff)
	}
	plain, err := db.Solve(Request{Add: []string{"alpine-base"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names(plain) {
		if strings.HasPrefix(n, ".x-") {
			t.Errorf("the virtual package of an earlier solve is still there: %s", n)
		}
	}
}

// TestChangeAction checks the actions apk prints for each kind of change.
func TestChangeAction(t *testing.T) {
	t.Parallel()
	a1 := &index.Record{Name: "a", Version: "1", Checksum: "x"}
	a2 := &index.Record{Name: "a", Version: "2", Checksum: "y"}
	a1b := &index.Record{Name: "a", Version: "1", Checksum: "z"}
	tests := []struct {
		c    Change
		want Action
	}{
		{Change{New: a1}, Install},
		{Change{Old: a1}, Remove},
		{Change{Old: a1, New: a2}, Upgrade},
		{Change{Old: a2, New: a1}, Downgrade},
		{Change{Old: a1, New: a1b}, Replace},
		{Change{Old: a1, New: a1}, Keep},
		{Change{Old: a1, New: a1, OldTag: "edge"}, Repin},
	}
	for _, tt := range tests {
		if got := tt.c.Action(); got != tt.want {
			t.Errorf("%+v: Action() = %q, want %q", tt.c, got, tt.want)
		}
	}
}

// TestSolveForgetsNames checks that names and tags only a request used do
// not stay in the DB.
func TestSolveForgetsNames(t *testing.T) {
	t.Parallel()
	db, err := NewDB(Config{Repositories: []Repository{{Records: records(t, "P:a\nV:1-r0\nI:1\nD:b\n\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	names, tags := len(db.names), len(db.tags)
	for _, req := range []Request{
		{Add: []string{"a", "x1", "x2@t1"}},
		{Virtual: ".v=1", Add: []string{"y1", "a"}},
		{World: []string{"z@t2"}},
	} {
		if _, err := db.Solve(req); err == nil {
			t.Fatalf("Solve(%+v) succeeded", req)
		}
		if len(db.names) != names || len(db.order) != names || len(db.tags) != tags {
			t.Errorf("after %+v: %d names (%d in order), %d tags; want %d and %d", req, len(db.names), len(db.order), len(db.tags), names, tags)
		}
	}
}

// TestPlanWorld checks the world a plan records: apk's order, tags kept,
// operators in apk's spelling, an added item replacing the world's.
func TestPlanWorld(t *testing.T) {
	t.Parallel()
	db, err := NewDB(Config{Repositories: []Repository{
		{Records: records(t, "P:b\nV:1-r0\nI:1\n\nP:A\nV:2-r0\nI:1\n\n")},
		{Tag: "edge", Records: records(t, "P:c\nV:1-r0\nI:1\n\n")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.Solve(Request{World: []string{"b=>1", "A"}, Add: []string{"c@edge", "A=~2"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A~2", "b>=1", "c@edge"}, plan.World); diff != "" {
		t.Errorf("World (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A-2-r0", "b-1-r0", "c-1-r0"}, names(plan)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if got := plan.Lines()[2]; got != "(3/3) Installing c@edge (1-r0)" {
		t.Errorf("line 3 = %q", got)
	}
}
