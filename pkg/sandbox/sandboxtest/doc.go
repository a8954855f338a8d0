// Package sandboxtest helps tests that run phases in a real
// [sandbox.Bwrap]: [RequireBwrap] hands them a working runner, skipping
// the test where bubblewrap is not usable, except when the environment
// variable CI is set (CI installs bubblewrap), where it fails.
package sandboxtest
