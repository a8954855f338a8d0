// Package apkbuild reads APKBUILD recipes the way abuild does: it parses a
// recipe with mvdan.cc/sh/v3 in a dialect that accepts what busybox ash
// accepts, evaluates its top level with a Go shell interpreter in the
// environment abuild gives a recipe (CARCH, CHOST, startdir, srcdir, ...),
// applies abuild's defaults, and returns a [Recipe]: every variable of the
// APKBUILD specification as the exact string the shell holds, plus
// structured views (arch list, subpackages, sources and checksums, options,
// dependency items, install scripts, triggers and the functions the recipe
// defines, with their positions and source text).
//
// A recipe is untrusted input. Evaluation never runs a program on the host
// and never touches the network: the few commands recipes use in command
// substitutions (cut, tr, basename, ...) are implemented in Go, anything else
// is an error that names the command and its position. Evaluation is
// bounded in steps ([Options.MaxSteps]), commands, function calls and
// memory ([Options.MaxMemory]), bounds that do not depend on the machine's
// speed or load, with a wall-clock backstop far above any real recipe
// ([Options.Timeout]): an endless loop, a runaway expansion or unbounded
// recursion is an error, never a hang.
//
// A recipe whose top level is only assignments, case statements and
// function definitions, with expansions that need no more than variables
// (most of them), is evaluated without the interpreter, with the same
// expansion code, to the same result and under the same memory bound;
// anything else goes through the interpreter.
//
// The same evaluator reads abuild.conf files ([EvalShellFile]).
//
// Functions in this package are safe for concurrent use.
package apkbuild
