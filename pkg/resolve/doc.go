// Package resolve is apk's dependency solver: given the packages of one or
// more repositories, the packages installed in a root and the world (the
// names the root should have), it computes the plan apk computes: the same
// packages, chosen among providers and versions as apk chooses, in the
// order apk installs them.
//
// [NewDB] loads index records ([index.Record]) as apk opens its database;
// [DB.Solve] takes a [Request] (the world file's items, apk add's
// arguments, an optional --virtual package, or apk del's names, with or
// without --rdepends) and returns a [Plan], or an [*UnsatisfiableError]
// that explains, in apk's words, which name has no provider or which
// packages conflict and what requires them. For apk del, the plan also
// says, as apk's note does, which world items keep a name installed
// ([Plan.KeptLines]).
//
// The solver follows apk-tools 2.14 rule for rule: package names and
// provided names (versioned or not; so:, cmd:, pc:, py3.x: and the like),
// every version operator apk reads (any run of <>=~, ~ being fuzzy, and
// >< pinning a package identity), conflicts (!name), install_if,
// provider_priority, repository tags (name@tag), installed packages (kept
// unless the world asks otherwise) and virtual packages. Where apk's
// choices depend on the order it meets names, resolve meets them in apk's
// order, including the order of apk's name hash table, so that plans
// and error reports match apk's line for line. Versions and dependency
// items are read and compared by package version ([version.ReadDependency],
// [version.Compare]), as apk 2 reads them.
//
// replaces and replaces_priority play no part here: apk consults them when
// it installs files, to decide which package owns a path, not when it
// chooses packages. Solver options of apk's other than the defaults of
// `apk add` (--upgrade, --latest, --available, --force-broken-world) are not
// implemented.
//
// Architecture is checked as apk-tools 3 checks it: a package whose
// architecture is neither the target's nor noarch is never chosen over
// one that can be installed, and an error names it.
//
// A [DB] keeps the records it is given and returns them in plans; callers
// must not change them while the DB is in use. A DB is not safe for
// concurrent use.
package resolve
