package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/apkit-dev/apkit/pkg/repo"
)

// reconcile checks every repository directory of the tree against its
// index, when the Repository is a [Reconciler], and logs what it changed.
// A directory that cannot be reconciled is logged and served as it is.
func (s *Server) reconcile(ctx context.Context) {
	rc, ok := s.opts.Repository.(Reconciler)
	if !ok {
		return
	}
	for _, dir := range repoDirs(s.opts.Dir) {
		if ctx.Err() != nil {
			return
		}
		rel, _ := filepath.Rel(s.opts.Dir, dir)
		rel = filepath.ToSlash(rel)
		res, err := rc.Reconcile(ctx, dir)
		if err != nil {
			s.log.Error("reconcile repository", "repository", rel, "error", err.Error())
			continue
		}
		for _, f := range res.Temps {
			s.log.Info("removed a temporary file left by an interrupted update", "repository", rel, "file", f)
		}
		for _, f := range res.Indexed {
			s.log.Warn("indexed a package that was on disk but not in the index", "repository", rel, "file", f)
		}
		for f, why := range res.Rejected {
			s.log.Warn("moved aside a package that was not in the index and does not verify", "repository", rel, "file", f, "to", ".apkit-rejected-"+f, "error", why.Error())
		}
		for _, f := range res.Dropped {
			s.log.Warn("dropped an index entry whose file is missing", "repository", rel, "file", f)
		}
	}
}

// repoDirs returns the repository directories of the tree under root,
// <root>/<version>/<repo>/<arch>, that hold an index, a package or a
// temporary file. Dot-names and symbolic links are not followed.
func repoDirs(root string) []string {
	var out []string
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		if depth == 3 {
			for _, e := range ents {
				n := e.Name()
				if n == repo.IndexName || strings.HasSuffix(n, ".apk") || strings.HasPrefix(n, ".apkit-tmp-") {
					out = append(out, dir)
					return
				}
			}
			return
		}
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				walk(filepath.Join(dir, e.Name()), depth+1)
			}
		}
	}
	walk(root, 0)
	return out
}
