package graph

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/version"
)

// Recipe is what the graph needs to know of one recipe. Build one from an
// evaluated APKBUILD with [FromAPKBUILD]; keeping only this much lets a
// graph of many thousand recipes stay small.
type Recipe struct {
	// Dir is the recipe directory as the caller names it; the order breaks
	// ties by it, and it names the recipe in the results.
	Dir string
	// Repo is the repository the recipe's packages go to
	// (REPODEST/<Repo>/<arch>/).
	Repo string
	// Pkgname and Version (pkgver-rpkgrel) are the main package's.
	Pkgname, Version string
	// Subpackages are the names of the subpackages.
	Subpackages []string
	// Provides are the recipe's provides= items.
	Provides []version.Dependency
	// Depends, Makedepends and Checkdepends are the items that make edges.
	Depends, Makedepends, Checkdepends []version.Dependency
	// NotForArch is true when the recipe's arch excludes the architecture
	// the graph is made for: it is never up to date, and building it does
	// nothing.
	NotForArch bool
}

// FromAPKBUILD returns what the graph needs of the evaluated recipe r, in
// directory dir, whose packages go to repository repo.
func FromAPKBUILD(dir, repo string, r *apkbuild.Recipe) Recipe {
	out := Recipe{
		Dir:          dir,
		Repo:         repo,
		Pkgname:      r.Pkgname,
		Version:      r.Version(),
		Provides:     slices.Clone(r.Provides),
		Depends:      slices.Clone(r.Depends),
		Makedepends:  slices.Clone(r.Makedepends),
		Checkdepends: slices.Clone(r.Checkdepends),
		NotForArch:   !r.BuildsFor(r.Carch),
	}
	for _, s := range r.Subpackages {
		out.Subpackages = append(out.Subpackages, s.Name)
	}
	return out
}

// Packages returns the names of the packages the recipe makes: the main
// package, then the subpackages.
func (r *Recipe) Packages() []string {
	return append([]string{r.Pkgname}, r.Subpackages...)
}

// Edge is a dependency of one recipe on another of the set.
type Edge struct {
	// To is the index in [Graph.Nodes] of the recipe depended on.
	To int
	// Field is the variable the item is in: depends, makedepends or
	// checkdepends.
	Field string
	// Dependency is the item as written (the first, when several items
	// lead to the same recipe).
	Dependency string
	// Broken is true for the dependency ignored to break a cycle: the
	// recipe depended on is built after this one.
	Broken bool
}

// Node is one recipe of a [Graph].
type Node struct {
	Recipe
	// Edges are the recipe's dependencies on others of the set, one per
	// recipe depended on, in the order the items are written (depends,
	// makedepends, checkdepends).
	Edges []Edge
	// UpToDate is true when every package of the recipe (main package and
	// subpackages) is in its repository at the recipe's version.
	UpToDate bool
}

// Cycle is a cycle of dependencies, and the dependency that breaks it.
type Cycle struct {
	// Path holds the indices in [Graph.Nodes] of the recipes of the cycle
	// in dependency order, the first again at the end: a depends on b,
	// b on a is [a, b, a]. Its last step is the broken edge. Of a cycle
	// longer than [MaxCyclePath], Path holds the first and last
	// MaxCyclePath/2 recipes, and Elided counts those between.
	Path   []int
	Elided int
}

// MaxCyclePath bounds the length of a [Cycle]'s Path, so that the
// cycles of a graph take memory in proportion to its edges.
const MaxCyclePath = 64

// Graph is the dependency graph of a set of recipes.
type Graph struct {
	// Nodes holds the recipes sorted by directory.
	Nodes []Node
	// Order holds the indices in Nodes in build order.
	Order []int
	// Cycles lists the cycles found, each broken at its last step.
	Cycles []Cycle
}

// Options configure [New]. The zero value makes a graph that knows of no
// packages built already.
type Options struct {
	// Built holds, by repository name, the index records of the packages
	// already in REPODEST/<repo>/<arch>/ for the graph's architecture. They
	// decide which recipes are up to date, and the names (so:, cmd:, pc:,
	// ...) a recipe's packages provide beyond their own.
	Built map[string][]*index.Record
}

// provider is a recipe that provides a name, at a version ("" for an
// unversioned provides= item).
type provider struct {
	node    int
	version string
	// real is true for a package name (pkgname or subpackage), which is
	// preferred to a virtual one.
	real bool
}

// New makes the graph of recipes. Recipes with the same directory are
// one: the first is kept.
func New(recipes []Recipe, opts Options) *Graph {
	g := &Graph{}
	sorted := slices.Clone(recipes)
	slices.SortStableFunc(sorted, func(a, b Recipe) int { return strings.Compare(a.Dir, b.Dir) })
	sorted = slices.CompactFunc(sorted, func(a, b Recipe) bool { return a.Dir == b.Dir })
	g.Nodes = make([]Node, len(sorted))
	for i, r := range sorted {
		g.Nodes[i].Recipe = r
	}
	providers := make(map[string][]provider, 2*len(g.Nodes))
	add := func(name string, p provider) {
		providers[name] = append(providers[name], p)
	}
	// origin finds a recipe by repository and pkgname, for the records of
	// REPODEST.
	type repoName struct{ repo, name string }
	origin := make(map[repoName]int, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		for _, name := range n.Packages() {
			add(name, provider{node: i, version: n.Version, real: true})
		}
		for _, d := range n.Provides {
			add(d.Name, provider{node: i, version: d.Version})
		}
		if _, ok := origin[repoName{n.Repo, n.Pkgname}]; !ok {
			origin[repoName{n.Repo, n.Pkgname}] = i
		}
	}
	// What REPODEST holds: versions by package name per repository, and
	// the names the packages provide.
	built := map[repoName][]string{}
	for repo, recs := range opts.Built {
		for _, rec := range recs {
			built[repoName{repo, rec.Name}] = append(built[repoName{repo, rec.Name}], rec.Version)
			o := rec.Origin
			if o == "" {
				o = rec.Name
			}
			i, ok := origin[repoName{repo, o}]
			if !ok {
				continue
			}
			for _, item := range rec.Provides {
				d, err := version.ParseDependency(item)
				if err != nil || d.Conflict {
					continue
				}
				add(d.Name, provider{node: i, version: d.Version})
			}
		}
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		n.Edges = edges(i, &n.Recipe, providers)
		if !n.NotForArch {
			n.UpToDate = true
			for _, name := range n.Packages() {
				if !slices.Contains(built[repoName{n.Repo, name}], n.Version) {
					n.UpToDate = false
					break
				}
			}
		}
	}
	g.breakCycles()
	g.order()
	return g
}

// edges returns the dependencies of recipe i on the others.
func edges(i int, r *Recipe, providers map[string][]provider) []Edge {
	var out []Edge
	// A recipe has few edges: a scan finds one already made.
	seen := func(to int) bool {
		if to == i {
			return true
		}
		for _, e := range out {
			if e.To == to {
				return true
			}
		}
		return false
	}
	for _, list := range []struct {
		field string
		items []version.Dependency
	}{{"depends", r.Depends}, {"makedepends", r.Makedepends}, {"checkdepends", r.Checkdepends}} {
		for _, d := range list.items {
			if d.Conflict {
				continue
			}
			for _, to := range satisfying(d, providers[d.Name]) {
				if seen(to) {
					continue
				}
				out = append(out, Edge{To: to, Field: list.field, Dependency: d.String()})
			}
		}
	}
	return out
}

// satisfying returns the recipes among ps that meet d: the packages of that
// name when there are any, else the recipes that provide it. As in apk, a
// provides= item without a version meets only an item without one.
func satisfying(d version.Dependency, ps []provider) []int {
	var real, virtual []int
	for _, p := range ps {
		ok := d.Op == "" || (p.version != "" && d.Satisfies(p.version))
		if !ok {
			continue
		}
		if p.real {
			real = append(real, p.node)
		} else {
			virtual = append(virtual, p.node)
		}
	}
	if len(real) > 0 {
		return real
	}
	return virtual
}

// breakCycles walks the graph depth first from every recipe in directory
// order, following the edges in the order written, and marks broken every
// edge that leads back to a recipe on the walk's path.
func (g *Graph) breakCycles() {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(g.Nodes))
	// pos holds, for a recipe on the path, its index in path.
	pos := make([]int, len(g.Nodes))
	var path []int
	// An explicit stack: a chain of dependencies may be thousands long.
	type frame struct{ node, next int }
	for root := range g.Nodes {
		if state[root] != unseen {
			continue
		}
		stack := []frame{{node: root}}
		state[root] = onPath
		path = append(path[:0], root)
		pos[root] = 0
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			n := &g.Nodes[f.node]
			if f.next == len(n.Edges) {
				state[f.node] = done
				stack = stack[:len(stack)-1]
				path = path[:len(path)-1]
				continue
			}
			e := &n.Edges[f.next]
			f.next++
			switch state[e.To] {
			case onPath:
				e.Broken = true
				g.Cycles = append(g.Cycles, newCycle(path[pos[e.To]:], e.To))
			case unseen:
				state[e.To] = onPath
				pos[e.To] = len(path)
				path = append(path, e.To)
				stack = append(stack, frame{node: e.To})
			}
		}
	}
}

// newCycle returns the cycle through the recipes of path and back to
// the first, to, with its Path bounded by MaxCyclePath.
func newCycle(path []int, to int) Cycle {
	full := len(path) + 1
	if full <= MaxCyclePath {
		return Cycle{Path: append(slices.Clone(path), to)}
	}
	half := MaxCyclePath / 2
	p := make([]int, 0, MaxCyclePath)
	p = append(p, path[:half]...)
	p = append(p, path[len(path)-(half-1):]...)
	return Cycle{Path: append(p, to), Elided: full - MaxCyclePath}
}

// order sets Order: a topological order over the edges that are not
// broken, the lowest index first among the recipes ready to build.
func (g *Graph) order() {
	waiting := make([]int, len(g.Nodes))
	dependents := make([][]int, len(g.Nodes))
	for i := range g.Nodes {
		for _, e := range g.Nodes[i].Edges {
			if e.Broken {
				continue
			}
			waiting[i]++
			dependents[e.To] = append(dependents[e.To], i)
		}
	}
	ready := &intHeap{}
	for i, w := range waiting {
		if w == 0 {
			*ready = append(*ready, i)
		}
	}
	heap.Init(ready)
	g.Order = make([]int, 0, len(g.Nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		g.Order = append(g.Order, i)
		for _, d := range dependents[i] {
			if waiting[d]--; waiting[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
}

// Dependents returns, sorted, the indices of the recipes that depend on
// any of nodes, directly or through others, broken edges included; nodes
// themselves are included.
func (g *Graph) Dependents(nodes ...int) []int {
	rev := make([][]int, len(g.Nodes))
	for i := range g.Nodes {
		for _, e := range g.Nodes[i].Edges {
			rev[e.To] = append(rev[e.To], i)
		}
	}
	seen := make([]bool, len(g.Nodes))
	queue := slices.Clone(nodes)
	for _, n := range nodes {
		seen[n] = true
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range rev[n] {
			if !seen[d] {
				seen[d] = true
				queue = append(queue, d)
			}
		}
	}
	var out []int
	for i, s := range seen {
		if s {
			out = append(out, i)
		}
	}
	return out
}

// Lookup returns the index of the recipe in directory dir, or -1.
func (g *Graph) Lookup(dir string) int {
	i, ok := slices.BinarySearchFunc(g.Nodes, dir, func(n Node, dir string) int { return strings.Compare(n.Dir, dir) })
	if !ok {
		return -1
	}
	return i
}

// CycleNames returns the cycle as "a -> b -> a", by pkgname.
func (g *Graph) CycleNames(c Cycle) string {
	names := make([]string, 0, len(c.Path)+1)
	for i, n := range c.Path {
		if c.Elided > 0 && i == MaxCyclePath/2 {
			names = append(names, fmt.Sprintf("(%d more)", c.Elided))
		}
		names = append(names, g.Nodes[n].Pkgname)
	}
	return strings.Join(names, " -> ")
}

// DescribeCycle returns the cycle as [Graph.CycleNames] does, with the
// dependency that breaks it: "a -> b -> a (b's makedepends a is ignored)".
func (g *Graph) DescribeCycle(c Cycle) string {
	from, to := c.Path[len(c.Path)-2], c.Path[len(c.Path)-1]
	for _, e := range g.Nodes[from].Edges {
		if e.To == to && e.Broken {
			return fmt.Sprintf("%s (%s's %s %s is ignored)", g.CycleNames(c), g.Nodes[from].Pkgname, e.Field, e.Dependency)
		}
	}
	return g.CycleNames(c)
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Needs returns, for every recipe, the recipes it must wait for: its
// dependencies over edges that are not broken, less those that another of
// them depends on already, directly or not (the transitive reduction). A
// CI job per recipe that needs these gets everything below them through
// their artifacts.
func (g *Graph) Needs() [][]int {
	words := (len(g.Nodes) + 63) / 64
	// below[i] has bit j set when i depends on j, directly or not.
	below := make([][]uint64, len(g.Nodes))
	out := make([][]int, len(g.Nodes))
	for _, i := range g.Order {
		b := make([]uint64, words)
		for _, e := range g.Nodes[i].Edges {
			if e.Broken {
				continue
			}
			b[e.To/64] |= 1 << (e.To % 64)
			for w, v := range below[e.To] {
				b[w] |= v
			}
		}
		below[i] = b
		for _, e := range g.Nodes[i].Edges {
			if e.Broken {
				continue
			}
			redundant := false
			for _, f := range g.Nodes[i].Edges {
				if !f.Broken && f.To != e.To && below[f.To][e.To/64]&(1<<(e.To%64)) != 0 {
					redundant = true
					break
				}
			}
			if !redundant {
				out[i] = append(out[i], e.To)
			}
		}
	}
	return out
}

// Depths returns, for every recipe, the length of the longest chain of
// dependencies below it over edges that are not broken: 0 for a recipe
// that depends on none of the set.
func (g *Graph) Depths() []int {
	d := make([]int, len(g.Nodes))
	for _, i := range g.Order {
		for _, e := range g.Nodes[i].Edges {
			if !e.Broken && d[e.To]+1 > d[i] {
				d[i] = d[e.To] + 1
			}
		}
	}
	return d
}
