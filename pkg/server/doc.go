// Package server is apkit's package repository server: it serves the tree
// <dir>/<version>/<repo>/<arch>/ to apk clients and browsers, takes
// authenticated package uploads on POST /upload, and reports its health at
// /healthz and its metrics, in the Prometheus text format, at /metrics.
//
// The server checks tokens through a [TokenVerifier] (a *auth.Verifier in
// production), checks uploaded files through a [Validator] and adds them to
// a repository through a [Repository]. The production implementations read
// packages with pkg/apk and update indexes with pkg/repo.
package server
