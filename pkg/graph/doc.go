// Package graph is the dependency graph of a set of recipes: which recipe
// must be built before which, in what order, where the dependencies go
// round in a cycle, and which recipes are up to date in REPODEST.
//
// A recipe depends on another of the set when one of its depends,
// makedepends or checkdepends items names a package the other makes: its
// pkgname, a subpackage, a provides= name, or a so:, cmd: or pc: name its
// packages already in REPODEST provide (read from the repository's index).
// Conflicts (!name) are not dependencies, a versioned item must be met by
// the version the other recipe provides, and a recipe never depends on
// itself.
//
// The build order is topological and stable: of the recipes whose
// dependencies are all before them, the one whose directory sorts first
// comes first. Cycles are broken the way lua-aports' "ap builddirs" breaks
// them: a depth-first walk from every recipe in directory order, following
// each recipe's dependencies in the order written, ignores the dependency
// that leads back to a recipe still being walked. Each such dependency is
// reported as a [Cycle].
//
// Everything in this package is safe for concurrent use once built: a
// [Graph] is not changed after [New] returns it.
package graph
