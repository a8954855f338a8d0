// Package sandbox runs the commands of a build phase in isolation.
//
// A [Runner] starts one process described by a [Spec]. Two runners exist:
// [Bwrap] uses bubblewrap to give the process a read-only root, private
// /dev, /proc and /tmp, writable binds only for the directories the build
// owns, every namespace unshared and, unless asked for, no network; [Plain]
// starts an ordinary process with the same cleared environment, for hosts
// where user namespaces are unavailable. [Select] picks one for a [Mode],
// probing bubblewrap once for [ModeAuto].
package sandbox
