// Package repo manages a repository directory of Alpine packages,
// <repo>/<arch>/, holding package files named P-V.apk and their signed index
// APKINDEX.tar.gz. It is the one way packages get into a repository: a local
// build and the upload server both call [Repo.Add].
//
// Every change ([Repo.Add], [Repo.Remove], [Repo.Reindex]) holds an exclusive
// flock(2) lock on the directory, so goroutines and processes may change one
// repository at once without losing an entry. Files are written under
// temporary names, synced to disk and renamed into place: readers (apk, a web
// server) always see a complete index, and a crash leaves the previous one.
//
// Indexing is incremental: Add reads only the packages it adds and keeps the
// other entries of the current index; Reindex and [IndexFiles] reuse the
// entries of files whose name and size are unchanged and that are older
// than the old index, as apk index --index does.
//
// Nothing here prints; progress goes to an optional [Progress].
package repo
