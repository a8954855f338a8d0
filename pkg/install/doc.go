// Package install installs Alpine packages into a root directory as apk 2
// does, and reads and writes apk's database there, so that apk can take the
// root over (apk --root R info, apk audit) and apkit can read a root apk
// made.
//
// # Repositories and trust
//
// [OpenRepository] reads a repository's APKINDEX.tar.gz, from a local
// directory or over http or https (with pkg/source's cache, retries,
// progress and offline mode), and verifies its signature against a keyring:
// [Keyring] gathers Alpine's release keys for the target arch (package
// alpinekeys), a keys directory and the root's /etc/apk/keys.
//
// # Plans
//
// Install takes a plan: a slice of [Package], each an index record and the
// URL of the repository it comes from, in the order to install them (a
// solver's order, dependencies first). Each package is checked against its
// record before anything of it is kept: the file's size (S:), the SHA-1 of
// its control segment (C:), the SHA-256 of its data segment against
// .PKGINFO's datahash, and every file against its checksum record. Files
// are written inside the root only (os.Root), under temporary names that
// are renamed into place once the whole package verifies.
//
// [Solve] and [Commit] do what apk add and apk del do: Solve computes
// with package resolve the plan that meets a [Request] (names to add, with
// apk's constraints, an optional virtual package, names to delete) in a
// root, and Commit makes its changes: installs, upgrades and downgrades in
// place, removals (files, directories no package still owns, database
// entries, deinstall scripts) and virtual packages.
//
// # Scripts and triggers
//
// Pre-install and post-install scripts and triggers run inside the root,
// under bubblewrap with the root as / ([BwrapScripts]), as user 0 of a user
// namespace when the caller is not root. Options.NoScripts skips them.
//
// # The database
//
// apk's database is lib/apk/db/installed ([WriteInstalled],
// [ReadInstalled]), lib/apk/db/scripts.tar ([WriteScripts]),
// lib/apk/db/triggers ([WriteTriggers]) and /etc/apk/world, repositories,
// arch and keys. Install writes each through a temporary file, fsync and
// rename, after the files it lists are in place: an interrupted install
// leaves a database that claims only files that are there.
package install
