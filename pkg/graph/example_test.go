package graph_test

import (
	"fmt"

	"github.com/apkit-dev/apkit/pkg/graph"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/version"
)

// The build order of three recipes: app makedepends on lib's -dev
// subpackage, and lib on a so: name that zlib's package in REPODEST
// provides; zlib is up to date there.
func Example() {
	deps := func(s string) []version.Dependency {
		d, _ := version.ParseDependencies(s)
		return d
	}
	recipes := []graph.Recipe{
		{Dir: "main/app", Repo: "main", Pkgname: "app", Version: "1.0-r0", Makedepends: deps("lib-dev")},
		{Dir: "main/lib", Repo: "main", Pkgname: "lib", Version: "2.1-r0", Subpackages: []string{"lib-dev"}, Depends: deps("so:libz.so.1")},
		{Dir: "main/zlib", Repo: "main", Pkgname: "zlib", Version: "1.3-r0"},
	}
	built := map[string][]*index.Record{"main": {
		{Name: "zlib", Version: "1.3-r0", Provides: []string{"so:libz.so.1=1.3"}},
	}}
	g := graph.New(recipes, graph.Options{Built: built})
	for _, i := range g.Order {
		n := g.Nodes[i]
		fmt.Printf("%s up-to-date=%v", n.Dir, n.UpToDate)
		for _, e := range n.Edges {
			fmt.Printf(" (%s %s from %s)", e.Field, e.Dependency, g.Nodes[e.To].Dir)
		}
		fmt.Println()
	}
	// Output:
	// main/zlib up-to-date=true
	// main/lib up-to-date=false (depends so:libz.so.1 from main/zlib)
	// main/app up-to-date=false (makedepends lib-dev from main/lib)
}
