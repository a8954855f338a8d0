package cli

// abuildConfReader evaluates an abuild.conf (a shell file) into its
// variables. It is nil until the recipe evaluator provides one, which means
// abuild configuration is not read.
var abuildConfReader func(path string, env map[string]string) (map[string]string, error)
