package resolve

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/version"
)

// Request is what to solve for: the world apk would write after an
// `apk add` or an `apk del`.
type Request struct {
	// World holds the items of the root's world file
	// (name[@tag][op version] or !name).
	World []string
	// Del holds the names given to `apk del`, taken out of World before
	// Add is applied. The package installed under each name is marked for
	// removal as apk marks it: should a name it provides still be needed,
	// apk prefers another provider, and the name is decided before others.
	// A name nothing knows is ignored here.
	Del []string
	// Rdepends is apk del's --rdepends: the installed packages that
	// depend on a package of Del are deleted too, recursively, and the
	// names each deleted package provides leave World as well.
	Rdepends bool
	// Add holds the items given to `apk add`: each replaces a World item
	// of the same name, or, with Virtual, becomes a dependency of the
	// virtual package. apk selects names given this way before others
	// when it has a choice of what to decide first.
	Add []string
	// Virtual is the `--virtual NAME[=VERSION]` of apk add: a package
	// NAME that depends on the Add items is made and added to the world.
	// "" means none.
	Virtual string
	// Now gives a virtual package without a version its version,
	// YYYYMMDD.HHMMSS in UTC, as apk does; the zero value means the
	// current time.
	Now time.Time
}

// Action says what a [Change] does.
type Action string

// The actions of a change, as apk names them when it commits.
const (
	Install   Action = "Installing"
	Remove    Action = "Purging"
	Upgrade   Action = "Upgrading"
	Downgrade Action = "Downgrading"
	Replace   Action = "Replacing"
	Repin     Action = "Updating pinning"
	// Keep is a package already installed that stays as it is.
	Keep Action = ""
)

// Change is one step of a [Plan]: a package installed, upgraded,
// downgraded or removed, or kept.
type Change struct {
	// Old is the installed package the change replaces or removes; nil
	// when installing.
	Old *index.Record
	// New is the package the change installs or keeps; nil when removing.
	New *index.Record
	// OldTag and NewTag are the repository tags (without '@') the package
	// was and will be pinned to; "" is untagged.
	OldTag, NewTag string
}

// Action returns what the change does.
func (c Change) Action() Action {
	switch {
	case c.Old == nil:
		return Install
	case c.New == nil:
		return Remove
	case c.Old == c.New || (c.Old.Checksum != "" && c.Old.Checksum == c.New.Checksum):
		if c.OldTag != c.NewTag {
			return Repin
		}
		return Keep
	}
	switch version.Compare(c.New.Version, c.Old.Version) {
	case -1:
		return Downgrade
	case 1:
		return Upgrade
	}
	return Replace
}

// Plan is the result of [DB.Solve]: the changes in the order apk makes
// them, and the world to record. Dependencies come before the packages
// that need them, so each package's install scripts run after what it
// depends on is in place.
type Plan struct {
	// Changes are all the packages of the result, installed, removed or
	// kept, in apk's order.
	Changes []Change
	// World is the world file to write, one item per entry, sorted as
	// apk sorts it.
	World []string
	// Virtual is the record of the virtual package of
	// [Request.Virtual], nil without one. It is in Changes too.
	Virtual *index.Record
	// Kept are the names of [Request.Del] the plan keeps installed, with
	// the world items that keep them, sorted as apk sorts names; see
	// [Plan.KeptLines].
	Kept []Kept

	installedBytes int64
	installedCount int
}

// Lines returns the plan as `apk add --simulate` prints it: one
// "(i/n) Installing name (version)" line per change that does something,
// then "OK: N MiB in M packages".
func (p *Plan) Lines() []string {
	n := 0
	for _, c := range p.Changes {
		if c.Action() != Keep {
			n++
		}
	}
	var out []string
	bytes, count := p.installedBytes, p.installedCount
	i := 0
	for _, c := range p.Changes {
		if c.New != nil {
			bytes += c.New.InstalledSize
			count++
		}
		if c.Old != nil {
			bytes -= c.Old.InstalledSize
			count--
		}
		a := c.Action()
		if a == Keep {
			continue
		}
		i++
		rec, tag := c.New, c.NewTag
		if rec == nil {
			rec = c.Old
		}
		if tag != "" {
			tag = "@" + tag
		}
		ver := rec.Version
		if a == Upgrade || a == Downgrade || a == Replace {
			ver = c.Old.Version + " -> " + c.New.Version
		}
		out = append(out, fmt.Sprintf("(%d/%d) %s %s%s (%s)", i, n, a, rec.Name, tag, ver))
	}
	return append(out, fmt.Sprintf("OK: %d MiB in %d packages", bytes/(1024*1024), count))
}

// ErrUnsatisfiable is wrapped by the error [DB.Solve] returns when no plan
// meets the world.
var ErrUnsatisfiable = errors.New("unable to select packages")

// UnsatisfiableError explains, as apk does, why no plan meets the world:
// which names have no provider and what requires them, which chosen
// packages conflict and why.
type UnsatisfiableError struct {
	// Report holds apk's explanation, the lines that follow its
	// "ERROR: unable to select packages:", each ending in a newline.
	Report string
}

// Error returns "unable to select packages:" and the report.
func (e *UnsatisfiableError) Error() string {
	return "unable to select packages:\n" + strings.TrimSuffix(e.Report, "\n")
}

// Unwrap returns [ErrUnsatisfiable].
func (e *UnsatisfiableError) Unwrap() error { return ErrUnsatisfiable }

// ErrBadItem is wrapped by the error [DB.Solve] returns for a request
// item that does not parse or names an unknown repository tag.
var ErrBadItem = errors.New("bad world item")

// Solve computes the plan apk makes for req: the packages it chooses
// among providers and versions and the order it installs them in. When
// the world cannot be met, Solve returns the plan apk computed anyway
// together with an [*UnsatisfiableError]; a malformed request gives an
// error wrapping [ErrBadItem].
func (db *DB) Solve(req Request) (*Plan, error) {
	var undo []func()
	nNames, nTags := len(db.order), len(db.tags)
	defer func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		db.reset()
		// Names and tags only the request used are forgotten, so that a
		// DB solving many requests does not grow.
		for _, n := range db.order[nNames:] {
			delete(db.names, n.name)
		}
		clear(db.order[nNames:])
		db.order = db.order[:nNames]
		db.tags, db.allowed = db.tags[:nTags], db.allowed[:nTags]
	}()
	var world []dep
	for _, s := range req.World {
		d, err := db.parseDep(s)
		if err != nil {
			return nil, fmt.Errorf("world item %q: %w: %w", s, ErrBadItem, err)
		}
		world = addDep(world, d)
	}
	world = db.del(world, req.Del, req.Rdepends)
	var virt *pkg
	var virtDep dep
	if req.Virtual != "" {
		d, err := db.parseDep(req.Virtual)
		if err != nil || d.d.Conflict || (d.d.Op != "" && d.d.CanonicalOp() != "=") || d.tag != 0 {
			return nil, fmt.Errorf("%s: %w: bad package specifier", req.Virtual, ErrBadItem)
		}
		if d.d.Op == "" {
			now := req.Now
			if now.IsZero() {
				now = time.Now()
			}
			d.d.Op, d.d.Version = "=", now.UTC().Format("20060102.150405")
		}
		virtDep = d
		rec := &index.Record{
			Name:        d.name.name,
			Version:     d.d.Version,
			Arch:        "noarch",
			Description: "virtual meta package",
		}
		sum := sha1.Sum([]byte(rec.Name + "\x00" + rec.Version))
		rec.Checksum = index.Identity(sum[:])
		virt = &pkg{rec: rec, name: d.name, version: rec.Version, repos: 1}
	}
	for _, s := range req.Add {
		d, err := db.parseDep(s)
		if err != nil || (virt != nil && d.tag != 0) {
			kind, format := "world", "name(@tag)([<>~=]version)"
			if virt != nil {
				kind, format = "child", "name([<>~=]version)"
			}
			return nil, fmt.Errorf("'%s' is not a valid %s dependency, format is %s: %w", s, kind, format, ErrBadItem)
		}
		if virt != nil {
			virt.depends = addDep(virt.depends, d)
			continue
		}
		world = addDep(world, d)
		d.name.flagsSet = true
	}
	if virt != nil {
		for _, d := range virt.depends {
			virt.rec.Depends = append(virt.rec.Depends, d.d.String())
		}
		undo = append(undo, db.addTemporary(virt))
		world = addDep(world, virtDep)
		virtDep.name.flagsSet = true
	}
	for _, d := range world {
		if d.tag != 0 && db.allowed[d.tag] == 0 {
			return nil, fmt.Errorf("the repository tag for world dependency '%s%s' does not exist: %w", d.name.name, db.tags[d.tag], ErrBadItem)
		}
	}
	slices.SortStableFunc(world, func(a, b dep) int { return compareDisplay(a.name.name, b.name.name) })

	s := &solver{db: db}
	s.run(world)
	s.generate(world)

	plan := &Plan{}
	for _, p := range db.installedPkgs() {
		plan.installedBytes += p.installedSize
		plan.installedCount++
	}
	for _, c := range s.changes {
		ch := Change{OldTag: strings.TrimPrefix(db.tags[c.oldTag], "@"), NewTag: strings.TrimPrefix(db.tags[c.newTag], "@")}
		if c.old != nil {
			ch.Old = c.old.rec
		}
		if c.new != nil {
			ch.New = c.new.rec
		}
		plan.Changes = append(plan.Changes, ch)
	}
	for _, d := range world {
		plan.World = append(plan.World, db.depString(&d, true))
	}
	if virt != nil {
		plan.Virtual = virt.rec
	}
	if s.errors > 0 {
		return plan, &UnsatisfiableError{Report: s.report(world)}
	}
	plan.Kept = s.kept(world, req.Del)
	return plan, nil
}

// addDep adds d to deps, replacing an item of the same name, as apk does
// when it adds to the world or a virtual package.
func addDep(deps []dep, d dep) []dep {
	for i := range deps {
		if deps[i].name == d.name {
			deps[i] = d
			return deps
		}
	}
	return append(deps, d)
}

// addTemporary adds a package for the length of one solve, as apk adds
// its virtual package after opening the database, and returns what
// removes it again.
func (db *DB) addTemporary(p *pkg) func() {
	n := p.name
	nProv := len(n.providers)
	type saved struct {
		n      *name
		length int
	}
	var rdeps []saved
	for _, d := range p.depends {
		if !slices.Contains(d.name.rdeps(), n) {
			rdeps = append(rdeps, saved{d.name, len(d.name.rdeps())})
			d.name.rdepends = append(d.name.rdeps(), n)
		}
	}
	n.providers = append(n.providers, provider{pkg: p, version: p.version})
	db.pkgs = append(db.pkgs, p)
	return func() {
		n.providers = n.providers[:nProv]
		db.pkgs = db.pkgs[:len(db.pkgs)-1]
		for _, r := range rdeps {
			r.n.rdepends = r.n.rdeps()[:r.length]
		}
	}
}

// reset clears all working state after a solve.
func (db *DB) reset() {
	for _, n := range db.order {
		n.ss = nameState{}
		n.flagsSet = false
		n.state = 0
	}
	for _, p := range db.pkgs {
		p.ss = pkgState{}
		p.marked = false
		p.state = 0
	}
}

// depString formats an item as apk prints it: the operator in its
// canonical spelling, the tag only when withTag is set.
func (db *DB) depString(d *dep, withTag bool) string {
	var b strings.Builder
	if d.d.Conflict {
		b.WriteByte('!')
	}
	b.WriteString(d.name.name)
	if withTag && d.tag != 0 {
		b.WriteString(db.tags[d.tag])
	}
	if d.d.Op != "" {
		b.WriteString(d.d.CanonicalOp())
		b.WriteString(d.d.Version)
	}
	return b.String()
}

// compareDisplay orders names as apk lists them: ASCII case-insensitively,
// then bytewise.
func compareDisplay(a, b string) int {
	if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
