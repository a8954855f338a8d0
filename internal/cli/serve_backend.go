package cli

import (
	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/server"
	"github.com/apkit-dev/apkit/pkg/upload"
)

// serveBackend returns what checks and stores uploads.
// TODO(serve): plug in pkg/apk and pkg/repo.
func serveBackend(app *App, cfg *config.ServeConfig) (server.Validator, server.Repository, error) {
	app.IO.Warnf("this build cannot check or store packages yet: uploads are refused")
	return nil, nil, nil
}

// packageArch reads a package's architecture from its .PKGINFO.
// TODO(serve): read it with pkg/apk; until then the directory name is used.
var packageArch upload.ArchFunc = nil
