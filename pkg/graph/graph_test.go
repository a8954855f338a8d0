package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/apkit-dev/apkit/pkg/graph"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/version"
)

// recipe makes a recipe in main/<name> from "field=items" lines, such as
// "depends=a b>=2", "subpackages=x-dev", "provides=v=1.0", "version=2.0-r0".
func recipe(t testing.TB, name string, fields ...string) graph.Recipe {
	t.Helper()
	r := graph.Recipe{Dir: "main/" + name, Repo: "main", Pkgname: name, Version: "1.0-r0"}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		deps := func() []version.Dependency {
			d, err := version.ParseDependencies(v)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		switch k {
		case "depends":
			r.Depends = deps()
		case "makedepends":
			r.Makedepends = deps()
		case "checkdepends":
			r.Checkdepends = deps()
		case "provides":
			r.Provides = deps()
		case "subpackages":
			r.Subpackages = strings.Fields(v)
		case "version":
			r.Version = v
		case "dir":
			r.Dir = v
			r.Repo, _, _ = strings.Cut(v, "/")
		default:
			t.Fatalf("unknown field %s", k)
		}
	}
	return r
}

// orderOf returns the build order by directory.
func orderOf(g *graph.Graph) []string {
	var out []string
	for _, i := range g.Order {
		out = append(out, g.Nodes[i].Dir)
	}
	return out
}

// edgesOf returns every edge as "from -> to (field item)", broken ones
// marked.
func edgesOf(g *graph.Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		for _, e := range n.Edges {
			s := fmt.Sprintf("%s -> %s (%s %s)", n.Pkgname, g.Nodes[e.To].Pkgname, e.Field, e.Dependency)
			if e.Broken {
				s += " broken"
			}
			out = append(out, s)
		}
	}
	return out
}

func TestGraph(t *testing.T) {
	t.Parallel()
	built := map[string][]*index.Record{"main": {
		{Name: "libz", Version: "1.0-r0", Origin: "zlib", Provides: []string{"so:libz.so.1=1.3", "pc:zlib=1.3"}},
		{Name: "zlib", Version: "1.0-r0", Provides: []string{"cmd:zpipe=1.0-r0"}},
		// A package of a recipe outside the set provides nothing here.
		{Name: "other", Version: "1.0-r0", Provides: []string{"so:libother.so.1=1"}},
	}}
	for _, tc := range []struct {
		name    string
		recipes []graph.Recipe
		built   map[string][]*index.Record
		order   []string
		edges   []string
		cycles  []string
	}{{
		name:    "no edges: directory order",
		recipes: []graph.Recipe{recipe(t, "c"), recipe(t, "a"), recipe(t, "b")},
		order:   []string{"main/a", "main/b", "main/c"},
	}, {
		name: "pkgname",
		recipes: []graph.Recipe{
			recipe(t, "a", "makedepends=b"),
			recipe(t, "b", "depends=c"),
			recipe(t, "c"),
		},
		order: []string{"main/c", "main/b", "main/a"},
		edges: []string{"a -> b (makedepends b)", "b -> c (depends c)"},
	}, {
		name: "subpackage",
		recipes: []graph.Recipe{
			recipe(t, "app", "makedepends=lib-dev"),
			recipe(t, "lib", "subpackages=lib-dev lib-doc"),
		},
		order: []string{"main/lib", "main/app"},
		edges: []string{"app -> lib (makedepends lib-dev)"},
	}, {
		name: "provides",
		recipes: []graph.Recipe{
			recipe(t, "app", "checkdepends=virt cmd:tool"),
			recipe(t, "impl", "provides=virt cmd:tool=1.0-r0"),
		},
		order: []string{"main/impl", "main/app"},
		edges: []string{"app -> impl (checkdepends virt)"},
	}, {
		name: "so, pc and cmd names from REPODEST",
		recipes: []graph.Recipe{
			recipe(t, "a", "depends=so:libz.so.1"),
			recipe(t, "b", "makedepends=pc:zlib>=1.2"),
			recipe(t, "c", "makedepends=cmd:zpipe so:libother.so.1"),
			recipe(t, "zlib", "subpackages=libz"),
		},
		built: built,
		order: []string{"main/zlib", "main/a", "main/b", "main/c"},
		edges: []string{"a -> zlib (depends so:libz.so.1)", "b -> zlib (makedepends pc:zlib>=1.2)", "c -> zlib (makedepends cmd:zpipe)"},
	}, {
		name: "so names of another repository's recipe are not this one's",
		recipes: []graph.Recipe{
			recipe(t, "a", "depends=so:libz.so.1"),
			recipe(t, "zlib", "subpackages=libz", "dir=community/zlib"),
		},
		built: built,
		order: []string{"community/zlib", "main/a"},
	}, {
		name: "conflicts, self and unmet versions are no edges",
		recipes: []graph.Recipe{
			recipe(t, "a", "depends=!b c>=2 a-dev", "subpackages=a-dev"),
			recipe(t, "b"),
			recipe(t, "c"),
			recipe(t, "d", "depends=c<2 virt>=1"),
			recipe(t, "e", "provides=virt"),
		},
		order: []string{"main/a", "main/b", "main/c", "main/d", "main/e"},
		edges: []string{"d -> c (depends c<2)"},
	}, {
		name: "a package name wins over a provides",
		recipes: []graph.Recipe{
			recipe(t, "a", "depends=b"),
			recipe(t, "b"),
			recipe(t, "fake", "provides=b=1.0-r0"),
		},
		order: []string{"main/b", "main/a", "main/fake"},
		edges: []string{"a -> b (depends b)"},
	}, {
		name: "cycle broken at the edge back to the first recipe walked",
		recipes: []graph.Recipe{
			recipe(t, "a", "makedepends=b"),
			recipe(t, "b", "depends=a"),
			recipe(t, "c", "depends=a"),
		},
		order:  []string{"main/b", "main/a", "main/c"},
		edges:  []string{"a -> b (makedepends b)", "b -> a (depends a) broken", "c -> a (depends a)"},
		cycles: []string{"a -> b -> a (b's depends a is ignored)"},
	}, {
		name: "long cycle and a second one",
		recipes: []graph.Recipe{
			recipe(t, "a", "depends=b"),
			recipe(t, "b", "depends=c"),
			recipe(t, "c", "makedepends=a"),
			recipe(t, "x", "depends=y"),
			recipe(t, "y", "checkdepends=x"),
		},
		order:  []string{"main/c", "main/b", "main/a", "main/y", "main/x"},
		edges:  []string{"a -> b (depends b)", "b -> c (depends c)", "c -> a (makedepends a) broken", "x -> y (depends y)", "y -> x (checkdepends x) broken"},
		cycles: []string{"a -> b -> c -> a (c's makedepends a is ignored)", "x -> y -> x (y's checkdepends x is ignored)"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := graph.New(tc.recipes, graph.Options{Built: tc.built})
			if diff := cmp.Diff(tc.order, orderOf(g)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.edges, edgesOf(g)); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
			var cycles []string
			for _, c := range g.Cycles {
				cycles = append(cycles, g.DescribeCycle(c))
			}
			if diff := cmp.Diff(tc.cycles, cycles); diff != "" {
				t.Errorf("cycles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpToDate(t *testing.T) {
	t.Parallel()
	recipes := []graph.Recipe{
		recipe(t, "all", "subpackages=all-doc"),
		recipe(t, "old", "version=2.0-r0"),
		recipe(t, "partial", "subpackages=partial-dev"),
		recipe(t, "missing"),
		recipe(t, "other-repo", "dir=community/other-repo"),
		{Dir: "main/noarch", Repo: "main", Pkgname: "noarch", Version: "1.0-r0", NotForArch: true},
	}
	built := map[string][]*index.Record{"main": {
		{Name: "all", Version: "1.0-r0"}, {Name: "all-doc", Version: "1.0-r0", Origin: "all"},
		{Name: "old", Version: "1.0-r0"},
		{Name: "partial", Version: "1.0-r0"},
		{Name: "other-repo", Version: "1.0-r0"},
		{Name: "noarch", Version: "1.0-r0"},
	}}
	g := graph.New(recipes, graph.Options{Built: built})
	got := map[string]bool{}
	for _, n := range g.Nodes {
		got[n.Pkgname] = n.UpToDate
	}
	want := map[string]bool{"all": true, "old": false, "partial": false, "missing": false, "other-repo": false, "noarch": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("up to date (-want +got):\n%s", diff)
	}
}

func TestDependents(t *testing.T) {
	t.Parallel()
	g := graph.New([]graph.Recipe{
		recipe(t, "a"),
		recipe(t, "b", "depends=a"),
		recipe(t, "c", "makedepends=b"),
		recipe(t, "d"),
		recipe(t, "e", "depends=d"),
	}, graph.Options{})
	var got []string
	for _, i := range g.Dependents(g.Lookup("main/b")) {
		got = append(got, g.Nodes[i].Dir)
	}
	if diff := cmp.Diff([]string{"main/b", "main/c"}, got); diff != "" {
		t.Errorf("dependents (-want +got):\n%s", diff)
	}
	if g.Lookup("main/nosuch") != -1 {
		t.Error("Lookup of an unknown directory is not -1")
	}
}

// TestLongChain walks a chain of dependencies far longer than any real
// one, which a recursive walk would take deep into the stack.
func TestLongChain(t *testing.T) {
	t.Parallel()
	const n = 20000
	var recipes []graph.Recipe
	for i := range n {
		r := graph.Recipe{Dir: fmt.Sprintf("main/p%05d", i), Repo: "main", Pkgname: fmt.Sprintf("p%05d", i), Version: "1.0-r0"}
		if i > 0 {
			r.Depends = []version.Dependency{{Name: fmt.Sprintf("p%05d", i-1)}}
		}
		recipes = append(recipes, r)
	}
	// The last one closes a cycle back to the last.
	recipes[0].Depends = []version.Dependency{{Name: fmt.Sprintf("p%05d", n-1)}}
	g := graph.New(recipes, graph.Options{})
	if len(g.Order) != n || len(g.Cycles) != 1 {
		t.Fatalf("order of %d, %d cycles", len(g.Order), len(g.Cycles))
	}
	// The cycle's path is bounded, and says how much it leaves out.
	c := g.Cycles[0]
	if len(c.Path) != graph.MaxCyclePath || c.Elided != n+1-graph.MaxCyclePath {
		t.Fatalf("cycle path of %d, %d elided", len(c.Path), c.Elided)
	}
	want := fmt.Sprintf("p00000 -> p%05d -> ", n-1)
	if s := g.CycleNames(c); !strings.HasPrefix(s, want) || !strings.Contains(s, fmt.Sprintf(" -> (%d more) -> ", c.Elided)) || !strings.HasSuffix(s, " -> p00000") {
		t.Errorf("cycle %.100s...", s)
	}
}

func TestNeedsAndDepths(t *testing.T) {
	t.Parallel()
	// A diamond with a shortcut: top needs left, right and base; left and
	// right need base; tip needs top, and cyc, which needs top already.
	g := graph.New([]graph.Recipe{
		recipe(t, "base"),
		recipe(t, "left", "depends=base"),
		recipe(t, "right", "makedepends=base"),
		recipe(t, "top", "depends=left right base"),
		recipe(t, "cyc", "depends=top"),
		recipe(t, "tip", "depends=cyc", "makedepends=top"),
	}, graph.Options{})
	needs := g.Needs()
	depths := g.Depths()
	got := map[string]string{}
	for i, n := range g.Nodes {
		var names []string
		for _, j := range needs[i] {
			names = append(names, g.Nodes[j].Pkgname)
		}
		got[n.Pkgname] = fmt.Sprintf("%d %v", depths[i], names)
	}
	want := map[string]string{
		"base":  "0 []",
		"left":  "1 [base]",
		"right": "1 [base]",
		"top":   "2 [left right]",
		"cyc":   "3 [top]",
		"tip":   "4 [cyc]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("needs (-want +got):\n%s", diff)
	}
}

// BenchmarkNew makes the graph of as many recipes as aports has (11,535),
// each with a subpackage and a few dependencies on others, and one in a
// hundred closing a cycle, and reports the cost per recipe; reading the
// recipes is not counted.
//
//	go test ./pkg/graph -run '^$' -bench New -benchtime 3x
func BenchmarkNew(b *testing.B) {
	const n = 11535
	recipes := make([]graph.Recipe, n)
	for i := range recipes {
		r := graph.Recipe{Dir: fmt.Sprintf("main/p%05d", i), Repo: "main", Pkgname: fmt.Sprintf("p%05d", i), Version: "1.0-r0",
			Subpackages: []string{fmt.Sprintf("p%05d-dev", i)}}
		for _, j := range []int{i / 2, i / 3, i * 7 % (i + 1)} {
			r.Makedepends = append(r.Makedepends, version.Dependency{Name: fmt.Sprintf("p%05d-dev", j)})
		}
		r.Depends = []version.Dependency{{Name: "so:libc.musl-x86_64.so.1"}}
		if i%100 == 0 {
			r.Checkdepends = []version.Dependency{{Name: fmt.Sprintf("p%05d", i+50)}}
		}
		recipes[i] = r
	}
	b.ResetTimer()
	for b.Loop() {
		g := graph.New(recipes, graph.Options{})
		if len(g.Order) != n {
			b.Fatal("short order")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/recipe")
}
