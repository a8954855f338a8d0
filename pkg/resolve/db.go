package resolve

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/version"
)

// Repository is one repository as apk loads it: the records of its index
// for the target architecture, and its tag.
type Repository struct {
	// Tag is the repository's tag without the '@' ("testing" for a line
	// "@testing https://..." of /etc/apk/repositories); "" means untagged.
	// Packages of a tagged repository are only chosen for world items that
	// name the tag (name@testing) and for their dependencies.
	Tag string
	// Records are the index's records, in file order.
	Records []*index.Record
}

// Installed is one package of a root's installed database.
type Installed struct {
	// Record is the package's record, as /lib/apk/db/installed holds it.
	Record *index.Record
	// Tag is the tag the package was installed from (the database's s:
	// field without '@'); "" means untagged.
	Tag string
}

// Config says what a [DB] holds.
type Config struct {
	// Arch is the target architecture ("x86_64", "aarch64", ...). A record
	// whose A: is neither Arch, "noarch" nor empty cannot be installed, as
	// apk-tools 3 decides (apk 2.14 trusts the index it was pointed at).
	// "" accepts every architecture.
	Arch string
	// Repositories are the repositories in the order apk would list them:
	// a package found in several is taken from the first.
	Repositories []Repository
	// Installed are the packages already installed in the root.
	Installed []Installed
}

// maxRepos is the most repositories a DB holds, as apk limits them.
const maxRepos = 63

// DB holds packages and names as apk's database does, ready for [DB.Solve].
// A DB is not safe for concurrent use: Solve keeps its working state in the
// DB (and clears it before returning).
type DB struct {
	arch    string
	names   map[string]*name
	order   []*name // in creation order
	pkgs    []*pkg
	byID    map[string]*pkg
	tags    []string // tag names with '@'; tags[0] is the default ""
	allowed []uint64 // allowed repositories of each tag
	repos   int      // repository bits in use (bit 0 is apk's cache)
	genid   int

	// nameSlab and pkgSlab are the unused rest of the last block of
	// names and packages allocated together: an index has thousands.
	nameSlab []name
	pkgSlab  []pkg
}

// slabSize is how many names or packages are allocated at a time.
const slabSize = 256

// A name is a package name, a provided name (so:, cmd:, pc:, ...) or both.
type name struct {
	name      string
	providers []provider
	// revDeps and revIif are the packages that depend on the name and
	// those installed if it; rdepends and rinstallIf, the names those
	// packages provide, are made from them when first asked for (see
	// [name.rdeps]), as most names never are.
	revDeps, revIif     []*pkg
	revDone, revIifDone bool
	rdepends            []*name
	rinstallIf          []*name
	created             int
	bucket              uint32 // in apk's name hash table
	ss                  nameState
	flagsSet            bool   // named on the command line (apk add's arguments)
	state               uint32 // error reporter's marks
}

// A provider is a package providing a name, with the version it provides
// it at ("" with virtual set for a provides item without a version).
type provider struct {
	pkg     *pkg
	version string
	virtual bool
}

// A pkg is one package: an index record, installed or not.
type pkg struct {
	rec           *index.Record
	name          *name
	version       string
	depends       []dep
	provides      []dep
	installIf     []dep
	priority      int64
	installedSize int64
	repos         uint64
	installed     bool
	installedTag  int
	uninstallable bool
	ss            pkgState
	marked        bool
	state         uint32
	genid         int
}

// A dep is a dependency, provides or install_if item bound to its name.
type dep struct {
	name     *name
	d        version.Dependency
	any      bool
	checksum bool
	tag      int
}

// NewDB loads repositories and installed packages the way apk opens its
// database. A package whose C: identity appears more than once is one
// package available from each place it appears. An item of a D:, p: or i:
// field that does not parse ends the field, as in apk.
func NewDB(cfg Config) (*DB, error) {
	if len(cfg.Repositories) > maxRepos-1 {
		return nil, fmt.Errorf("resolve: %d repositories, at most %d", len(cfg.Repositories), maxRepos-1)
	}
	// Size the maps for what the records will add: a package's name and
	// provided names make nearly all names.
	records, provides := len(cfg.Installed), 0
	for _, r := range cfg.Repositories {
		records += len(r.Records)
		for _, rec := range r.Records {
			if rec != nil {
				provides += len(rec.Provides)
			}
		}
	}
	b, err := newBuilder(cfg.Arch, cfg.Installed, records, records+provides)
	if err != nil {
		return nil, err
	}
	for _, r := range cfg.Repositories {
		if err := b.Repository(r.Tag); err != nil {
			return nil, err
		}
		b.Add(r.Records)
	}
	return b.DB(), nil
}

// A Builder makes a [DB] from records given a batch at a time, so that a
// DB can be made while the indexes are still being read. It makes the DB
// [NewDB] makes from the same records: installed packages first, then each
// repository's records in order. A Builder is not safe for concurrent use.
type Builder struct {
	db      *DB
	bit     uint64 // the current repository's bit; 0 before the first
	tag     string // the current repository's tag
	started bool
}

// NewBuilder starts a DB for arch (see [Config]) with the installed
// packages.
func NewBuilder(arch string, installed []Installed) (*Builder, error) {
	return newBuilder(arch, installed, len(installed), len(installed))
}

// newBuilder is NewBuilder with room made for pkgs packages and names
// names.
func newBuilder(arch string, installed []Installed, pkgs, names int) (*Builder, error) {
	db := &DB{
		arch:    arch,
		names:   make(map[string]*name, names),
		byID:    make(map[string]*pkg, pkgs),
		tags:    []string{""},
		allowed: []uint64{0},
		repos:   1,
	}
	for i, in := range installed {
		if in.Record == nil {
			return nil, fmt.Errorf("resolve: installed package %d: nil record", i)
		}
		p := db.addRecord(in.Record, 0)
		p.installed = true
		p.installedTag = db.tagID(in.Tag)
	}
	return &Builder{db: db}, nil
}

// Grow makes room for about n more records, with the names they bring:
// a hint, given before a repository's records, that saves the maps'
// growing as they are added.
func (b *Builder) Grow(n int) {
	if n <= 0 {
		return
	}
	db := b.db
	// A package brings its own name and, with what it provides, about
	// one and a half more.
	names := make(map[string]*name, len(db.names)+n*5/2)
	for k, v := range db.names {
		names[k] = v
	}
	db.names = names
	byID := make(map[string]*pkg, len(db.byID)+n)
	for k, v := range db.byID {
		byID[k] = v
	}
	db.byID = byID
}

// Repository starts the next repository, tagged tag (see [Repository]);
// the records [Builder.Add] is given from now on are its.
func (b *Builder) Repository(tag string) error {
	if b.db.repos >= maxRepos {
		return fmt.Errorf("resolve: more than %d repositories", maxRepos-1)
	}
	b.endRepository()
	b.bit = uint64(1) << b.db.repos
	b.db.repos++
	b.tag = tag
	b.started = true
	return nil
}

// endRepository makes the current repository's packages allowed for its
// tag. apk numbers the tag after the names of the repository's records,
// whose own tags come first.
func (b *Builder) endRepository() {
	if b.started {
		tag := b.db.tagID(b.tag)
		b.db.allowed[tag] |= b.bit
		b.started = false
	}
}

// Add adds records of the current repository, in index order; nil records
// are skipped. Without a current repository it does nothing. Add is
// AddBatch(Prepare(recs)).
func (b *Builder) Add(recs []*index.Record) {
	b.AddBatch(Prepare(recs))
}

// A Batch is records made ready for [Builder.AddBatch] by [Prepare].
type Batch struct {
	recs []prepared
}

// Prepare does the part of adding recs to a DB that needs no DB: parsing
// their dependency items. It may run in another goroutine than the
// Builder's, while the Builder adds earlier batches.
func Prepare(recs []*index.Record) *Batch {
	b := &Batch{recs: make([]prepared, 0, len(recs))}
	n := 0
	for _, rec := range recs {
		if rec != nil {
			n += len(rec.Depends) + len(rec.Provides) + len(rec.InstallIf)
		}
	}
	buf := make([]dep, 0, n)
	for _, rec := range recs {
		if rec != nil {
			b.recs = append(b.recs, prepared{})
			buf = b.recs[len(b.recs)-1].prepare(rec, buf)
		}
	}
	return b
}

// AddBatch adds a prepared batch of records of the current repository, in
// index order. Without a current repository it does nothing. A batch is
// added once.
func (b *Builder) AddBatch(batch *Batch) {
	if !b.started || batch == nil {
		return
	}
	for i := range batch.recs {
		b.db.addPrepared(&batch.recs[i], b.bit)
	}
	batch.recs = nil
}

// DB finishes the DB and returns it; the Builder must not be used after.
func (b *Builder) DB() *DB {
	b.endRepository()
	b.db.buildReverse()
	db := b.db
	b.db = nil
	return db
}

// tagID returns the number of a repository tag, adding it if new.
func (db *DB) tagID(tag string) int {
	if tag == "" {
		return 0
	}
	if !strings.HasPrefix(tag, "@") {
		tag = "@" + tag
	}
	for i, t := range db.tags {
		if t == tag {
			return i
		}
	}
	db.tags = append(db.tags, tag)
	db.allowed = append(db.allowed, 0)
	return len(db.tags) - 1
}

// getName returns the name s, creating it.
func (db *DB) getName(s string) *name {
	if n := db.names[s]; n != nil {
		return n
	}
	if len(db.nameSlab) == 0 {
		db.nameSlab = make([]name, slabSize)
	}
	n := &db.nameSlab[0]
	db.nameSlab = db.nameSlab[1:]
	*n = name{name: s, created: len(db.order), bucket: nameBucket(s)}
	db.names[s] = n
	db.order = append(db.order, n)
	return n
}

// addRecord adds a package, or merges it into the one with its identity.
func (db *DB) addRecord(rec *index.Record, repo uint64) *pkg {
	var pr prepared
	pr.prepare(rec, nil)
	return db.addPrepared(&pr, repo)
}

// addPrepared adds a prepared record, or merges it into the package with
// its identity. Names are created in the order apk creates them when it
// reads the record's fields (P, then D, p and i items).
func (db *DB) addPrepared(pr *prepared, repo uint64) *pkg {
	rec := pr.rec
	if len(db.pkgSlab) == 0 {
		db.pkgSlab = make([]pkg, slabSize)
	}
	p := &db.pkgSlab[0]
	db.pkgSlab = db.pkgSlab[1:]
	*p = pkg{
		rec:           rec,
		name:          db.getName(rec.Name),
		version:       rec.Version,
		priority:      rec.ProviderPriority,
		installedSize: rec.InstalledSize,
		repos:         repo,
	}
	p.depends = db.bind(pr.depends)
	p.provides = db.bind(pr.provides)
	p.installIf = db.bind(pr.installIf)
	if db.arch != "" && rec.Arch != "" && rec.Arch != "noarch" && rec.Arch != db.arch {
		p.uninstallable = true
	}
	if rec.Checksum != "" {
		if old := db.byID[rec.Checksum]; old != nil {
			old.repos |= repo
			return old
		}
		db.byID[rec.Checksum] = p
	}
	db.addPackage(p)
	return p
}

// addPackage registers p as a provider of its name and provided names.
func (db *DB) addPackage(p *pkg) {
	db.pkgs = append(db.pkgs, p)
	p.name.providers = append(p.name.providers, provider{pkg: p, version: p.version})
	for _, d := range p.provides {
		d.name.providers = append(d.name.providers, provider{pkg: p, version: d.d.Version, virtual: d.d.Op == ""})
	}
}

// A prepared record is an index record with its D:, p: and i: items
// parsed but not yet bound to names: the part of adding a record that
// needs no DB.
type prepared struct {
	rec                          *index.Record
	depends, provides, installIf []dep
}

// prepare parses rec's items, taking the deps from buf when it has room,
// and returns what is left of buf.
func (pr *prepared) prepare(rec *index.Record, buf []dep) []dep {
	pr.rec = rec
	pr.depends, buf = parseItems(rec.Depends, buf)
	pr.provides, buf = parseItems(rec.Provides, buf)
	pr.installIf, buf = parseItems(rec.InstallIf, buf)
	return buf
}

// parseItems parses dependency items into deps whose names are not bound
// yet (d.Name keeps any "@tag"); an item that does not parse ends the
// list, as apk stops reading the field there.
func parseItems(items []string, buf []dep) (out, rest []dep) {
	if len(items) == 0 {
		return nil, buf
	}
	if cap(buf)-len(buf) < len(items) {
		buf = make([]dep, 0, len(items))
	}
	out = buf[len(buf) : len(buf) : len(buf)+len(items)]
	for _, s := range items {
		vd, err := version.ReadDependency(s)
		if err != nil {
			break
		}
		out = append(out, newDep(vd))
	}
	return out[:len(out):len(out)], buf[:len(buf)+len(out)]
}

// bind binds parsed items to their names and tags; an item whose name is
// empty once its tag is cut off ends the list, as a parse error does.
func (db *DB) bind(deps []dep) []dep {
	for i := range deps {
		d := &deps[i]
		if j := strings.IndexByte(d.d.Name, '@'); j >= 0 {
			if j == 0 {
				return deps[:i:i]
			}
			d.tag = db.tagID(d.d.Name[j:])
			d.d.Name = d.d.Name[:j]
		}
		d.name = db.getName(d.d.Name)
	}
	return deps
}

// newDep returns the dep of a parsed item, not yet bound to its name.
func newDep(vd version.Dependency) dep {
	return dep{d: vd, any: vd.Op == "", checksum: vd.IsChecksum()}
}

// parseDep parses one item, name[@tag][op version], as apk does.
func (db *DB) parseDep(s string) (dep, error) {
	vd, err := version.ReadDependency(s)
	if err != nil {
		return dep{}, err
	}
	d := []dep{newDep(vd)}
	if len(db.bind(d)) == 0 {
		return dep{}, fmt.Errorf("%w %q: empty name", version.ErrDependency, s)
	}
	return d[0], nil
}

// buildReverse fills every name's revDeps and revIif: the packages that
// depend on it, and those installed if it.
func (db *DB) buildReverse() {
	// Two passes over the same items: the first counts, so that the
	// second appends into slices of one backing array.
	counts := make([]int32, 2*len(db.order))
	total := 0
	for _, p := range db.pkgs {
		for _, d := range p.depends {
			counts[2*d.name.created]++
		}
		for _, d := range p.installIf {
			counts[2*d.name.created+1]++
		}
		total += len(p.depends) + len(p.installIf)
	}
	backing := make([]*pkg, total)
	for _, n := range db.order {
		if c := int(counts[2*n.created]); c > 0 {
			n.revDeps, backing = backing[:0:c], backing[c:]
		}
		if c := int(counts[2*n.created+1]); c > 0 {
			n.revIif, backing = backing[:0:c], backing[c:]
		}
	}
	for _, p := range db.pkgs {
		for _, d := range p.depends {
			d.name.revDeps = append(d.name.revDeps, p)
		}
		for _, d := range p.installIf {
			d.name.revIif = append(d.name.revIif, p)
		}
	}
}

// rdeps returns the names whose providers depend on n, and riif those
// whose providers are installed if n, each name once, in the order apk
// lists them after opening its database: the order of its name hash table
// (buckets by hash, the newest name first in a bucket), which decides the
// order in which apk reconsiders names and lists them in errors.
func (n *name) rdeps() []*name {
	if !n.revDone {
		n.revDone = true
		n.rdepends = providedBy(n.revDeps)
	}
	return n.rdepends
}

func (n *name) riif() []*name {
	if !n.revIifDone {
		n.revIifDone = true
		n.rinstallIf = providedBy(n.revIif)
	}
	return n.rinstallIf
}

// providedBy returns the names the packages provide (their own and their
// provides), each once, in apk's hash table order.
func providedBy(pkgs []*pkg) []*name {
	if len(pkgs) == 0 {
		return nil
	}
	total := 0
	for _, p := range pkgs {
		total += 1 + len(p.provides)
	}
	out := make([]*name, 0, total)
	for _, p := range pkgs {
		out = append(out, p.name)
		for i := range p.provides {
			out = append(out, p.provides[i].name)
		}
	}
	if len(out) >= 1<<packShift {
		slices.SortFunc(out, func(a, b *name) int {
			if a.bucket != b.bucket {
				return cmp.Compare(a.bucket, b.bucket)
			}
			return cmp.Compare(b.created, a.created)
		})
		return slices.Clip(slices.Compact(out))
	}
	// Sorted as numbers, which is faster than comparing names (all of a
	// real index's rdepends lists in 3.05 ms instead of 4.2 ms): each key
	// is the name's bucket, then its creation number inverted (the newest
	// first), then its place in out. A list too long for the place's
	// bits is sorted by comparing names, above.
	keys := make([]uint64, len(out))
	for i, n := range out {
		keys[i] = (uint64(n.bucket)<<32|uint64(^uint32(n.created)))<<packShift | uint64(i)
	}
	slices.Sort(keys)
	names := make([]*name, 0, len(out))
	var last *name
	for _, k := range keys {
		if n := out[k&(1<<packShift-1)]; n != last {
			names = append(names, n)
			last = n
		}
	}
	return slices.Clip(names)
}

// packShift is how many low bits of providedBy's sort keys hold a place:
// the bucket (under 2^15) and the creation number (32 bits) fill the
// rest.
const packShift = 64 - 15 - 32

// hashBuckets is the size of apk's name hash table.
const hashBuckets = 20000

// nameBucket returns the bucket of apk's name hash table that holds s:
// 32-bit MurmurHash3 with apk's seed 5381.
func nameBucket(s string) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := uint32(5381)
	n := len(s) / 4
	for i := 0; i < n; i++ {
		k := uint32(s[i*4]) | uint32(s[i*4+1])<<8 | uint32(s[i*4+2])<<16 | uint32(s[i*4+3])<<24
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)*5 + 0xe6546b64
	}
	var k uint32
	tail := s[n*4:]
	switch len(tail) {
	case 3:
		k ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		k ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		k ^= uint32(tail[0])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(len(s))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h % hashBuckets
}
