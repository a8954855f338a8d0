// Package cli is apkit's command tree. Each verb lives in its own file with
// an options struct, a newXCmd constructor and a runX function; Main runs the
// tree and owns exit codes.
package cli
