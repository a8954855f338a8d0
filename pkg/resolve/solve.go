package resolve

import (
	"github.com/apkit-dev/apkit/pkg/version"
)

// defaultPinning is the pinning mask of the default (untagged) tag.
const defaultPinning = 1

// nameState is a name's working state during one solve.
type nameState struct {
	chosen       provider
	requirers    int
	mergeDepends int
	mergeProv    int
	orderID      int

	seen, locked, noIif, hasIif         bool
	hasOptions, reverseDepsDone         bool
	hasAutoSelectable, hasVirtualProv   bool
	reevaluateDeps, reevaluateIif       bool
	dirtyNext, dirtyPrev                *name
	inDirty                             bool
	unresNext, unresPrev                *name
	inUnres                             bool
	installedPkg                        *pkg
	installedName                       *name
	changesetProcessed, changesetRemove bool
}

// pkgState is a package's working state during one solve.
type pkgState struct {
	conflicts        int
	pinningAllowed   uint64
	pinningPreferred uint64

	seen, available, selectable bool
	iifTriggered, iifFailed     bool
	tagOK, tagPreferred         bool
	depsMerged, depsUsed        bool
	inChangeset, error          bool
	// removeHint marks a package apk del was asked to remove.
	removeHint bool
}

// solver is the state of one solve.
type solver struct {
	db             *DB
	dirtyHead      *name
	dirtyTail      *name
	unresHead      *name
	errors         int
	pinningInherit uint64
	defaultRepos   uint64
	orderID        int
	changes        []change
}

// change is one entry of apk's changeset.
type change struct {
	old, new       *pkg
	oldTag, newTag int
}

// provided reports whether provider p satisfies the item, as apk's
// apk_dep_is_provided decides: a conflict is satisfied by what the
// positive item would not accept.
func (d *dep) provided(p provider) bool {
	if p.pkg == nil {
		return d.d.Conflict
	}
	switch {
	case d.checksum:
		return p.pkg.rec.Checksum == d.d.Version
	case d.any:
		return !d.d.Conflict
	case p.virtual:
		return d.d.Conflict
	}
	if d.d.Satisfies(p.version) {
		return !d.d.Conflict
	}
	return d.d.Conflict
}

// pkgRepos returns the repositories a package counts as coming from.
func (s *solver) pkgRepos(p *pkg) uint64 {
	r := p.repos
	if p.installed {
		r |= s.db.allowed[p.installedTag]
	}
	return r
}

// pinningRepos returns the repositories the tags in mask allow.
func (s *solver) pinningRepos(mask uint64) uint64 {
	var r uint64
	for i := range s.db.tags {
		if mask&(1<<i) != 0 {
			r |= s.db.allowed[i]
		}
	}
	return r
}

func (s *solver) markError(p *pkg) {
	if p == nil || p.ss.error {
		return
	}
	p.ss.error = true
	s.errors++
}

// queueDirty appends n to the names to reconsider.
func (s *solver) queueDirty(n *name) {
	if n.ss.inDirty || n.ss.locked || (n.ss.requirers == 0 && !n.ss.reevaluateIif) {
		return
	}
	n.ss.inDirty = true
	n.ss.dirtyPrev = s.dirtyTail
	n.ss.dirtyNext = nil
	if s.dirtyTail != nil {
		s.dirtyTail.ss.dirtyNext = n
	} else {
		s.dirtyHead = n
	}
	s.dirtyTail = n
}

func (s *solver) unqueueDirty(n *name) {
	if !n.ss.inDirty {
		return
	}
	if n.ss.dirtyPrev != nil {
		n.ss.dirtyPrev.ss.dirtyNext = n.ss.dirtyNext
	} else {
		s.dirtyHead = n.ss.dirtyNext
	}
	if n.ss.dirtyNext != nil {
		n.ss.dirtyNext.ss.dirtyPrev = n.ss.dirtyPrev
	} else {
		s.dirtyTail = n.ss.dirtyPrev
	}
	n.ss.inDirty = false
	n.ss.dirtyNext, n.ss.dirtyPrev = nil, nil
}

func (s *solver) unqueueUnresolved(n *name) {
	if !n.ss.inUnres {
		return
	}
	if n.ss.unresPrev != nil {
		n.ss.unresPrev.ss.unresNext = n.ss.unresNext
	} else {
		s.unresHead = n.ss.unresNext
	}
	if n.ss.unresNext != nil {
		n.ss.unresNext.ss.unresPrev = n.ss.unresPrev
	}
	n.ss.inUnres = false
	n.ss.unresNext, n.ss.unresPrev = nil, nil
}

// queueUnresolved puts n at the head of the unresolved names when it is
// wanted, or takes it out when it no longer is.
func (s *solver) queueUnresolved(n *name) {
	if n.ss.locked {
		return
	}
	want := n.ss.requirers > 0 || n.ss.hasIif
	switch {
	case want && !n.ss.inUnres:
		n.ss.inUnres = true
		n.ss.unresPrev = nil
		n.ss.unresNext = s.unresHead
		if s.unresHead != nil {
			s.unresHead.ss.unresPrev = n
		}
		s.unresHead = n
	case !want && n.ss.inUnres:
		s.unqueueUnresolved(n)
	}
}

func (s *solver) reevaluateReverseDeps(n *name) {
	for _, n0 := range n.rdeps() {
		if !n0.ss.seen {
			continue
		}
		n0.ss.reevaluateDeps = true
		s.queueDirty(n0)
	}
}

func (s *solver) reevaluateReverseIif(n *name) {
	for _, n0 := range n.riif() {
		if !n0.ss.seen || n0.ss.noIif {
			continue
		}
		n0.ss.reevaluateIif = true
		s.queueDirty(n0)
	}
}

func (s *solver) reevaluateReverseIifPkg(p *pkg) {
	s.reevaluateReverseIif(p.name)
	for _, d := range p.provides {
		s.reevaluateReverseIif(d.name)
	}
}

func (s *solver) disqualify(p *pkg) {
	p.ss.selectable = false
	s.reevaluateReverseDeps(p.name)
	for _, d := range p.provides {
		s.reevaluateReverseDeps(d.name)
	}
	s.reevaluateReverseIifPkg(p)
}

func (s *solver) satisfiable(d *dep) bool {
	n := d.name
	if n.ss.locked {
		return d.provided(n.ss.chosen)
	}
	if n.ss.requirers == 0 && d.provided(provider{}) {
		return true
	}
	for _, p := range n.providers {
		if p.pkg.ss.selectable && d.provided(p) {
			return true
		}
	}
	return false
}

// discover walks the names reachable from n, setting up each package's
// state and numbering names in the order apk finishes them.
func (s *solver) discover(n *name) {
	if n.ss.seen {
		return
	}
	n.ss.seen = true
	n.ss.noIif = true
	for _, pr := range n.providers {
		p := pr.pkg
		if !p.ss.seen {
			p.ss.seen = true
			p.ss.pinningAllowed = defaultPinning
			p.ss.pinningPreferred = defaultPinning
			p.ss.available = p.repos&^1 != 0
			p.ss.selectable = !p.uninstallable && (p.repos != 0 || p.installedSize == 0 || p.installed)
			p.ss.iifFailed = len(p.installIf) == 0
			repos := s.pkgRepos(p)
			p.ss.tagPreferred = p.installedSize == 0 || repos&s.defaultRepos != 0
			p.ss.tagOK = p.ss.tagPreferred || p.installed
			for i := range p.depends {
				s.discover(p.depends[i].name)
			}
		}
		n.ss.noIif = n.ss.noIif && p.ss.iifFailed
	}
	for _, pr := range n.providers {
		p := pr.pkg
		for _, n0 := range p.name.riif() {
			s.discover(n0)
		}
		for _, d := range p.provides {
			if d.name.ss.seen {
				continue
			}
			s.discover(d.name)
			for _, n0 := range d.name.riif() {
				s.discover(n0)
			}
		}
	}
	s.orderID++
	n.ss.orderID = s.orderID
}

func (s *solver) requirersChanged(n *name) {
	s.queueUnresolved(n)
	s.reevaluateReverseIif(n)
	s.queueDirty(n)
}

// inherit passes pinning from the package that pulls p in (nil for a world
// item) to p.
func (s *solver) inherit(p, parent *pkg) {
	repos := s.pkgRepos(p)
	if parent != nil {
		p.ss.pinningAllowed |= parent.ss.pinningAllowed
	} else {
		p.ss.pinningAllowed |= s.pinningInherit
		p.ss.pinningPreferred = s.pinningInherit
		p.ss.tagPreferred = repos&s.pinningRepos(p.ss.pinningPreferred) != 0
	}
	if repos&s.pinningRepos(p.ss.pinningAllowed) != 0 {
		p.ss.tagOK = true
	}
}

func (s *solver) applyConstraint(parent *pkg, d *dep) {
	n := d.name
	if !d.d.Conflict {
		n.ss.requirers++
		if n.ss.requirers == 1 {
			s.requirersChanged(n)
		}
	}
	for _, pr := range n.providers {
		p := pr.pkg
		ok := d.provided(pr)
		if !ok {
			p.ss.conflicts++
		}
		if p.ss.selectable && p.ss.conflicts > 0 {
			s.disqualify(p)
		}
		if ok {
			s.inherit(p, parent)
		}
	}
}

// excludeNonProviders disqualifies the providers of n that do not also
// provide mustProvide.
func (s *solver) excludeNonProviders(n, mustProvide *name, skipVirtuals bool) {
	if n == mustProvide {
		return
	}
next:
	for _, pr := range n.providers {
		p := pr.pkg
		if p.name == mustProvide || !p.ss.selectable || (skipVirtuals && pr.virtual) {
			continue
		}
		for _, d := range p.provides {
			if d.name == mustProvide || (skipVirtuals && d.d.Op == "") {
				continue next
			}
		}
		s.disqualify(p)
	}
}

func mergeIndex(index *int, options int) bool {
	if *index != options {
		return false
	}
	*index = options + 1
	return true
}

func mergeIndexComplete(index *int, options int) bool {
	ok := *index == options
	*index = 0
	return ok
}

func autoSelectable(p provider) bool {
	return !p.virtual || p.pkg.priority != 0 || p.pkg.name.ss.requirers != 0
}

// reconsider propagates what is known about n: it drops providers whose
// dependencies can no longer be met, evaluates install_if triggers, and
// pushes down the dependencies all remaining providers share.
func (s *solver) reconsider(n *name) {
	reDeps, reIif := n.ss.reevaluateDeps, n.ss.reevaluateIif
	n.ss.reevaluateDeps, n.ss.reevaluateIif = false, false
	n.ss.hasAutoSelectable = false
	var first *pkg
	options, tagNotOK := 0, 0
	hasIif, noIif := false, true
	for _, pr := range n.providers {
		p := pr.pkg
		p.ss.depsMerged = false
		if reDeps {
			if !p.ss.selectable {
				continue
			}
			for i := range p.depends {
				if !s.satisfiable(&p.depends[i]) {
					s.disqualify(p)
					break
				}
			}
		}
		if !p.ss.selectable {
			continue
		}
		if reIif && !p.ss.iifTriggered && !p.ss.iifFailed {
			p.ss.iifTriggered = true
			p.ss.iifFailed = false
			for i := range p.installIf {
				d := &p.installIf[i]
				if !d.name.ss.locked {
					p.ss.iifTriggered, p.ss.iifFailed = false, false
					break
				}
				if !d.provided(d.name.ss.chosen) {
					p.ss.iifTriggered, p.ss.iifFailed = false, true
					break
				}
			}
		}
		if reIif && p.ss.iifTriggered {
			for i := range p.installIf {
				s.inherit(p, p.installIf[i].name.ss.chosen.pkg)
			}
		}
		hasIif = hasIif || p.ss.iifTriggered
		noIif = noIif && p.ss.iifFailed
		if p.ss.iifTriggered {
			n.ss.hasAutoSelectable = true
		}
		if n.ss.requirers == 0 {
			continue
		}
		p.ss.depsMerged = true
		if first == nil {
			first = p
		}
		for i := range p.depends {
			if d := &p.depends[i]; !d.d.Conflict {
				mergeIndex(&d.name.ss.mergeDepends, options)
			}
		}
		if mergeIndex(&p.name.ss.mergeProv, options) && pr.virtual {
			p.name.ss.hasVirtualProv = true
		}
		for i := range p.provides {
			d := &p.provides[i]
			if mergeIndex(&d.name.ss.mergeProv, options) && d.d.Op == "" {
				d.name.ss.hasVirtualProv = true
			}
		}
		if !p.ss.tagOK {
			tagNotOK++
		}
		options++
		if !n.ss.hasAutoSelectable && autoSelectable(pr) {
			n.ss.hasAutoSelectable = true
		}
	}
	n.ss.hasOptions = options > 1 || tagNotOK > 0
	n.ss.hasIif = hasIif
	n.ss.noIif = noIif
	s.queueUnresolved(n)

	if first != nil {
		p := first
		for _, pr := range n.providers {
			pr.pkg.ss.depsUsed = pr.pkg.ss.depsMerged
		}
		if options == 1 {
			for i := range p.depends {
				d := &p.depends[i]
				if mergeIndexComplete(&d.name.ss.mergeDepends, options) {
					s.applyConstraint(p, d)
				}
			}
		} else {
			for i := range p.depends {
				n0 := p.depends[i].name
				if mergeIndexComplete(&n0.ss.mergeDepends, options) && n0.ss.requirers == 0 {
					n0.ss.requirers++
					s.requirersChanged(n0)
					for _, pr := range n0.providers {
						s.inherit(pr.pkg, p)
					}
				}
			}
		}
		if mergeIndexComplete(&p.name.ss.mergeProv, options) {
			s.excludeNonProviders(p.name, n, p.name.ss.hasVirtualProv)
		}
		for i := range p.provides {
			d := &p.provides[i]
			if mergeIndexComplete(&d.name.ss.mergeProv, options) {
				s.excludeNonProviders(d.name, n, d.name.ss.hasVirtualProv)
			}
		}
		p.name.ss.hasVirtualProv = false
		for i := range p.provides {
			p.provides[i].name.ss.hasVirtualProv = false
		}
	}

	n.ss.reverseDepsDone = true
	for _, n0 := range n.rdeps() {
		if n0.ss.seen && !n0.ss.locked {
			n.ss.reverseDepsDone = false
			break
		}
	}
}

// compareVersions compares two provided versions as apk does; a missing
// version compares equal to anything.
func compareVersions(a, b string) int {
	if a == "" || b == "" {
		return 0
	}
	return version.Compare(a, b)
}

// compareProviders returns >0 when a is the better choice, <0 when b is,
// in the order of apk's preferences.
func (s *solver) compareProviders(a, b provider) int {
	pa, pb := a.pkg, b.pkg
	if pa == nil || pb == nil {
		return b2i(pa != nil) - b2i(pb != nil)
	}
	// Not one apk del removes.
	if r := b2i(pb.ss.removeHint) - b2i(pa.ss.removeHint); r != 0 {
		return r
	}
	// Without errors, then those in the last merging group.
	if r := b2i(pa.ss.selectable) - b2i(pb.ss.selectable); r != 0 {
		return r
	}
	if r := b2i(pa.ss.depsUsed) - b2i(pb.ss.depsUsed); r != 0 {
		return r
	}
	if r := pb.ss.conflicts - pa.ss.conflicts; r != 0 {
		return r
	}
	// Allowed pinning, preferred pinning, installed.
	if r := b2i(pa.ss.tagOK) - b2i(pb.ss.tagOK); r != 0 {
		return r
	}
	if r := b2i(pa.ss.tagPreferred) - b2i(pb.ss.tagPreferred); r != 0 {
		return r
	}
	if r := b2i(pa.installed) - b2i(pb.installed); r != 0 {
		return r
	}
	// The latest version of the requested name, then of the package.
	if r := compareVersions(a.version, b.version); r != 0 {
		return r
	}
	if pa.name == pb.name {
		if r := compareVersions(pa.version, pb.version); r != 0 {
			return r
		}
	}
	if r := b2i(pa.installed) - b2i(pb.installed); r != 0 {
		return r
	}
	if pa.priority != pb.priority {
		if pa.priority > pb.priority {
			return 1
		}
		return -1
	}
	if r := b2i(pa.ss.selectable) - b2i(pb.ss.selectable); r != 0 {
		return r
	}
	// The lowest numbered repository.
	return ffs(pb.repos) - ffs(pa.repos)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ffs returns the 1-based position of the lowest set bit, 0 for none.
func ffs(x uint64) int {
	for i := 0; i < 64; i++ {
		if x&(1<<i) != 0 {
			return i + 1
		}
	}
	return 0
}

func (s *solver) assign(n *name, p provider) {
	if n.ss.locked {
		if p.virtual && n.ss.chosen.virtual {
			return
		}
		s.markError(p.pkg)
		s.markError(n.ss.chosen.pkg)
		return
	}
	n.ss.locked = true
	n.ss.chosen = p
	s.unqueueUnresolved(n)
	s.unqueueDirty(n)
	for _, p0 := range n.providers {
		if p0.pkg == p.pkg || (p.virtual && p0.virtual) {
			continue
		}
		s.disqualify(p0.pkg)
	}
	s.reevaluateReverseDeps(n)
	if p.pkg != nil {
		s.reevaluateReverseIifPkg(p.pkg)
	} else {
		s.reevaluateReverseIif(n)
	}
}

// selectName chooses the best provider of n and locks the names it
// provides.
func (s *solver) selectName(n *name) {
	var chosen provider
	chosen.virtual = true
	if n.ss.requirers > 0 || n.ss.hasIif {
		for _, pr := range n.providers {
			p := pr.pkg
			if n.ss.requirers == 0 && (!p.ss.iifTriggered || !p.ss.tagOK || !p.ss.selectable) {
				continue
			}
			if !autoSelectable(pr) {
				continue
			}
			if s.compareProviders(pr, chosen) > 0 {
				chosen = pr
			}
		}
	}
	p := chosen.pkg
	if p == nil {
		s.assign(n, provider{virtual: true})
		if n.ss.requirers > 0 {
			s.errors++
		}
		return
	}
	if !p.ss.selectable || !p.ss.tagOK {
		s.markError(p)
	}
	s.assign(p.name, provider{pkg: p, version: p.version})
	for i := range p.provides {
		d := &p.provides[i]
		s.assign(d.name, provider{pkg: p, version: d.d.Version, virtual: d.d.Op == ""})
	}
	for i := range p.depends {
		s.applyConstraint(p, &p.depends[i])
	}
}

// dequeueBefore reports whether a should be selected before b.
func dequeueBefore(a, b *name) bool {
	if a.ss.hasAutoSelectable != b.ss.hasAutoSelectable {
		return a.ss.hasAutoSelectable
	}
	if a.flagsSet != b.flagsSet {
		return a.flagsSet
	}
	return a.ss.orderID > b.ss.orderID
}

// run solves for world (already in apk's order).
func (s *solver) run(world []dep) {
	s.defaultRepos = s.pinningRepos(defaultPinning)
	for i := range world {
		s.discover(world[i].name)
	}
	for i := range world {
		s.pinningInherit = 1 << world[i].tag
		s.applyConstraint(nil, &world[i])
	}
	s.pinningInherit = 0
	for {
		for s.dirtyHead != nil {
			n := s.dirtyHead
			s.unqueueDirty(n)
			s.reconsider(n)
		}
		var n *name
		for n0 := s.unresHead; n0 != nil; n0 = n0.ss.unresNext {
			if n0.ss.reverseDepsDone && n0.ss.requirers > 0 && n0.ss.hasAutoSelectable && !n0.ss.hasOptions {
				n = n0
				break
			}
			if n == nil || dequeueBefore(n0, n) {
				n = n0
			}
		}
		if n == nil {
			break
		}
		s.selectName(n)
	}
}
