package cli

import "github.com/apkit-dev/apkit/pkg/apkbuild"

// abuildConfReader evaluates an abuild.conf (a shell file) into its
// variables with the recipe evaluator: no host program runs.
var abuildConfReader = apkbuild.EvalShellFile
