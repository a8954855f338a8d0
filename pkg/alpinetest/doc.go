// Package alpinetest locates the shared test fixtures for tests: real
// Alpine packages, indexes and keys kept outside the module, in a
// directory named shared beside the checkout (../shared from the module
// root, the nearest directory above the test's package that holds go.mod,
// whatever the package's depth).
//
// The fixtures are ground truth and read-only. A test that needs them
// calls [Shared] or [Dir]: without the fixtures it is skipped, except when
// the environment variable CI is set, where it fails.
package alpinetest
