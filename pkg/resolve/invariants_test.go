package resolve

import (
	"errors"
	"testing"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/version"
)

// checkPlan checks what any plan for an empty root must hold: every
// dependency of every package is met by a package of the plan installed
// before it, no conflict (!name) is violated, no name is provided twice
// with a version, and the world is met.
func checkPlan(t *testing.T, world []string, plan *Plan) {
	t.Helper()
	type prov struct {
		rec     *index.Record
		version string // "" for a provides item without one
		pos     int
	}
	provs := map[string][]prov{}
	for i, c := range plan.Changes {
		r := c.New
		if r == nil || c.Old != nil {
			t.Fatalf("change %d on an empty root is not an install: %+v", i, c)
		}
		provs[r.Name] = append(provs[r.Name], prov{r, r.Version, i})
		for _, p := range r.Provides {
			d, err := version.ReadDependency(p)
			if err != nil {
				break
			}
			provs[d.Name] = append(provs[d.Name], prov{r, d.Version, i})
		}
	}
	for n, ps := range provs {
		versioned := 0
		for _, p := range ps {
			if p.version != "" {
				versioned++
			}
		}
		if versioned > 1 {
			t.Errorf("%s is provided with a version by %d packages", n, versioned)
		}
	}
	// provider returns the position of the package of the plan that meets
	// item, -1 for a conflict that holds, or an error.
	provider := func(item string) (int, error) {
		d, err := version.ReadDependency(item)
		if err != nil {
			return 0, err
		}
		for _, p := range provs[d.Name] {
			ok := d.Op == "" || (p.version != "" && d.Satisfies(p.version))
			if d.Conflict && ok {
				return 0, errors.New("conflicts with " + p.rec.Name + "-" + p.rec.Version)
			}
			if !d.Conflict && ok {
				return p.pos, nil
			}
		}
		if d.Conflict {
			return -1, nil
		}
		return 0, errors.New("not provided")
	}
	for _, w := range world {
		if _, err := provider(w); err != nil {
			t.Errorf("world[%s]: %v", w, err)
		}
	}
	edges := make([][]int, len(plan.Changes))
	for i, c := range plan.Changes {
		for _, item := range c.New.Depends {
			j, err := provider(item)
			if err != nil {
				t.Errorf("%s-%s[%s]: %v", c.New.Name, c.New.Version, item, err)
				continue
			}
			if j >= 0 && j != i {
				edges[i] = append(edges[i], j)
			}
		}
	}
	// A dependency installed after its dependent is only right within a
	// dependency cycle (the later package leads back to the earlier), or
	// for an install_if package: apk installs one as soon as its triggers
	// are in, even while a package that pulled it in through its own
	// dependencies is not yet (perl-git and git-perl in testdata/real).
	reaches := func(from, to int) bool {
		seen := make([]bool, len(edges))
		stack := []int{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == to {
				return true
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			stack = append(stack, edges[n]...)
		}
		return false
	}
	for i, js := range edges {
		for _, j := range js {
			if j > i && !reaches(j, i) && len(plan.Changes[i].New.InstallIf) == 0 {
				t.Errorf("%s is installed before its dependency %s", plan.Changes[i].New.Name, plan.Changes[j].New.Name)
			}
		}
	}
}

// TestRealInvariants solves for every package name of both real indexes
// and checks each plan that succeeds (see checkPlan); a failure must be an
// UnsatisfiableError with a report.
func TestRealInvariants(t *testing.T) {
	if testing.Short() {
		t.Skip("solves every name of two real indexes")
	}
	for _, ri := range realIndexes {
		t.Run(ri.name, func(t *testing.T) {
			recs := readIndex(t, ri.name)
			db, err := NewDB(Config{Arch: ri.arch, Repositories: []Repository{{Records: recs}}})
			if err != nil {
				t.Fatal(err)
			}
			ok, failed := 0, 0
			for _, r := range recs {
				plan, err := db.Solve(Request{Add: []string{r.Name}})
				var uerr *UnsatisfiableError
				switch {
				case errors.As(err, &uerr):
					if uerr.Report == "" {
						t.Errorf("%s: empty report", r.Name)
					}
					failed++
					continue
				case err != nil:
					t.Fatalf("%s: %v", r.Name, err)
				}
				ok++
				checkPlan(t, []string{r.Name}, plan)
			}
			t.Logf("%d plans checked, %d names unsatisfiable", ok, failed)
			if ok < len(recs)/2 {
				t.Errorf("only %d of %d names solved", ok, len(recs))
			}
		})
	}
}
