package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/resolve"
)

// ErrStale is wrapped by the error [Commit] returns when the root's
// database no longer holds what the plan was solved against (another apk
// or apkit changed it in between).
var ErrStale = errors.New("root changed since the plan was made")

// Request is what to change in a root, as apk add and apk del take it.
// The zero value changes nothing.
type Request struct {
	// Add are apk add's arguments: world items such as "busybox",
	// "musl>=1.2" or "curl@edge". With Virtual they become the virtual
	// package's dependencies instead.
	Add []string
	// Del are apk del's arguments: names whose items are taken out of the
	// world. A package nothing else needs is then removed.
	Del []string
	// Rdepends is apk del's --rdepends: the installed packages that
	// depend on those of Del are deleted too, recursively, and leave the
	// world with the names they provide.
	Rdepends bool
	// Virtual is apk add's --virtual NAME[=VERSION]; "" means none.
	Virtual string
	// Now dates a virtual package without a version (zero: the current
	// time).
	Now time.Time
}

// Solve computes, as apk does, the plan that meets req in root: the
// root's installed database and world (an empty one when root has none)
// and the packages of repos, in the order apk lists repositories. It
// returns the plan and an error wrapping [resolve.ErrUnsatisfiable] (an
// [*resolve.UnsatisfiableError] with apk's report) when no plan meets the
// world. Solve changes nothing in root.
func Solve(root string, repos []*Repository, arch string, req Request) (*resolve.Plan, error) {
	db, err := readDatabaseIfAny(root)
	if err != nil {
		return nil, err
	}
	return solve(db, repos, arch, req)
}

func solve(db *Database, repos []*Repository, arch string, req Request) (*resolve.Plan, error) {
	cfg := resolve.Config{Arch: arch, Installed: installedOf(db)}
	for _, r := range repos {
		cfg.Repositories = append(cfg.Repositories, resolve.Repository{Tag: r.Tag, Records: r.Index.Records})
	}
	rdb, err := resolve.NewDB(cfg)
	if err != nil {
		return nil, fmt.Errorf("solve: %w", err)
	}
	return solveWith(rdb, db, repos, req)
}

// installedOf returns the installed packages of db as the solver takes
// them.
func installedOf(db *Database) []resolve.Installed {
	var in []resolve.Installed
	for _, p := range db.Packages {
		in = append(in, resolve.Installed{Record: p.Record, Tag: p.RepoTag})
	}
	return in
}

// solveWith solves req with rdb, made of db and repos.
func solveWith(rdb *resolve.DB, db *Database, repos []*Repository, req Request) (*resolve.Plan, error) {
	if len(req.Del) > 0 {
		known := map[string]bool{}
		add := func(r *index.Record) {
			known[r.Name] = true
			for _, p := range r.Provides {
				known[itemName(p)] = true
			}
		}
		for _, r := range repos {
			for _, rec := range r.Index.Records {
				add(rec)
			}
		}
		for _, p := range db.Packages {
			add(p.Record)
		}
		for _, w := range db.World {
			known[itemName(w)] = true
		}
		var unknown []string
		for _, d := range req.Del {
			if !known[d] {
				unknown = append(unknown, d)
			}
		}
		if unknown != nil {
			return nil, &NoSuchPackageError{Names: unknown}
		}
	}
	return rdb.Solve(resolve.Request{World: db.World, Del: req.Del, Rdepends: req.Rdepends, Add: req.Add, Virtual: req.Virtual, Now: req.Now})
}

// itemName returns the package name of a world item ("!name@tag>=1" gives
// "name").
func itemName(item string) string {
	item = strings.TrimPrefix(item, "!")
	if i := strings.IndexAny(item, "@<>=~"); i >= 0 {
		item = item[:i]
	}
	return item
}

// NoSuchPackageError is returned by [Solve] for a Request.Del name that
// neither the repositories nor the root know, as apk del refuses it.
type NoSuchPackageError struct {
	// Names are the unknown names, in the request's order.
	Names []string
}

// Error returns "no such package: NAME, NAME".
func (e *NoSuchPackageError) Error() string {
	return "no such package: " + strings.Join(e.Names, ", ")
}

// Commit makes the changes of plan in root, in the plan's order, as apk
// does when it commits: packages installed from the repository of repos
// whose index holds their record (see [Install] for the checks), upgraded
// or downgraded in place (pre- and post-upgrade scripts, files the new
// version no longer has removed), removed (pre- and post-deinstall
// scripts, the package's files and the directories no package still
// owns), a virtual package recorded without files; then triggers run and
// the database is written with plan's world. opts.World is ignored: the
// plan says what the world is.
//
// Commit checks every change against the database before making any and
// fails with an error wrapping [ErrStale] if the root changed since
// [Solve]. A failing script marks its package broken and Commit returns an
// error after writing the database.
func Commit(ctx context.Context, root string, plan *resolve.Plan, repos []*Repository, opts *Options) (*Result, error) {
	from := map[*index.Record]string{}
	for _, r := range repos {
		for _, rec := range r.Index.Records {
			from[rec] = r.URL
		}
	}
	return run(ctx, root, opts, func(in *installer) ([]step, error) {
		var steps []step
		for _, c := range plan.Changes {
			var old *Installed
			if c.Old != nil {
				old = in.db.Find(c.Old.Name)
				if old == nil || old.Record.Checksum != c.Old.Checksum {
					return nil, fmt.Errorf("commit: %s-%s is not installed: %w", c.Old.Name, c.Old.Version, ErrStale)
				}
			} else if c.New != nil && in.db.Find(c.New.Name) != nil {
				return nil, fmt.Errorf("commit: %s is installed: %w", c.New.Name, ErrStale)
			}
			switch a := c.Action(); {
			case a == resolve.Keep:
			case a == resolve.Repin:
				steps = append(steps, step{repin: old, tag: c.NewTag})
			case a == resolve.Remove:
				steps = append(steps, step{remove: old})
			case c.New == plan.Virtual:
				steps = append(steps, step{virtual: c.New, tag: c.NewTag, replace: old})
			default:
				u, ok := from[c.New]
				if !ok {
					return nil, fmt.Errorf("commit: %s-%s: no repository holds it", c.New.Name, c.New.Version)
				}
				steps = append(steps, step{install: &Package{Record: c.New, Repository: u}, tag: c.NewTag, replace: old})
			}
		}
		return steps, nil
	}, func(db *Database) {
		db.World = slices.Clone(plan.World)
	})
}

// removeOne removes an installed package as apk del does: its
// pre-deinstall script, its files, the directories no other package owns
// (when empty), its database entry, then its post-deinstall script.
func (in *installer) removeOne(ip *Installed) error {
	if err := in.ctx.Err(); err != nil {
		return fmt.Errorf("remove %s-%s: %w", ip.Record.Name, ip.Record.Version, err)
	}
	args := []string{ip.Record.Version}
	in.runScript(ip, "pre-deinstall", args)
	in.dropPackage(ip, nil)
	in.runScript(ip, "post-deinstall", args)
	return nil
}

// dropPackage takes ip out of the database and removes its files, but for
// the paths in keep (which a new version of it has just installed) and
// those another package owns now; then its directories that no package
// lists any more, when they are empty.
func (in *installer) dropPackage(ip *Installed, keep map[string]bool) {
	in.forgetDirs()
	in.db.Packages = slices.DeleteFunc(in.db.Packages, func(p *Installed) bool { return p == ip })
	for _, d := range ip.Dirs {
		for _, f := range d.Files {
			p := path.Join(d.Name, f.Name)
			if keep[p] {
				continue
			}
			if o, ok := in.owners[p]; ok && o.name != ip.Record.Name {
				continue
			}
			if err := in.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				in.logf("WARNING: remove %s: %v", p, err)
			}
			delete(in.owners, p)
			in.touched[d.Name] = true
		}
	}
	listed := map[string]bool{}
	for _, p := range in.db.Packages {
		for _, d := range p.Dirs {
			listed[d.Name] = true
		}
	}
	for i := len(ip.Dirs) - 1; i >= 0; i-- {
		d := ip.Dirs[i].Name
		if d == "" || d == "." || listed[d] {
			continue
		}
		// Remove fails on a directory that is not empty, which then stays,
		// as apk leaves it.
		in.root.Remove(d)
	}
}

// readDatabaseIfAny reads root's database; a root that does not exist yet
// has an empty one.
func readDatabaseIfAny(root string) (*Database, error) {
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return &Database{}, nil
	}
	return ReadDatabase(root)
}
