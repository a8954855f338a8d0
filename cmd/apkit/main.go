// Command apkit builds, signs, indexes, uploads and serves Alpine Linux packages.
package main

import (
	"os"

	"github.com/apkit-dev/apkit/internal/cli"
)

func main() {
	os.Exit(cli.Main())
}
