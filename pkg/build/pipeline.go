package build

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/scan"
	"github.com/apkit-dev/apkit/pkg/source"
	"github.com/apkit-dev/apkit/pkg/version"
)

// pkgBuild is one package of the build on its way to an .apk.
type pkgBuild struct {
	name    string
	dir     string
	arch    string
	meta    map[string]string
	tree    *scan.Tree
	trace   *scan.Result
	scripts []controlFile
	info    *pkgInfo
}

// controlFile is an install script or trigger for the control segment.
type controlFile struct {
	Name string // ".post-install", ".trigger"
	Path string // the file in the recipe directory
}

func (b *builder) run(ctx context.Context) (*Result, error) {
	sde, commit, err := sourceDate(ctx, b.d.startdir, b.opts.Env)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if b.opts.SourceDateEpoch != 0 {
		sde = b.opts.SourceDateEpoch
	}
	b.sde, b.commit = sde, commit
	b.env = b.environment()

	if err := b.step("validate", "Reading APKBUILD", func() error {
		p, err := b.loadPlan(ctx)
		b.plan = p
		return err
	}); err != nil {
		return nil, err
	}
	p := b.plan
	if n, ok := b.progress.(RecipeNamer); ok && p.pkgname != "" {
		n.RecipeName(p.pkgname)
	}
	res := &Result{Pkgname: p.pkgname}
	if !apkbuild.ArchAllows(p.arch, b.opts.Arch) {
		res.Skipped = fmt.Sprintf("%s is not built for %s (arch=%q)", p.pkgname, b.opts.Arch, strings.Join(p.arch, " "))
		b.infof("%s", res.Skipped)
		return res, nil
	}
	for _, w := range p.warnings {
		b.warnf("%s: %s", p.pkgname, w)
	}
	if p.invalid != nil {
		return nil, &PhaseError{Phase: "validate", Log: b.d.logFile, Err: p.invalid}
	}
	if err := b.loadKey(); err != nil {
		return nil, err
	}
	if b.opts.Root != nil {
		if err := b.step("root", "Preparing the build root", func() error {
			root, runner, err := b.opts.Root(ctx, b.buildNeeds())
			if err != nil {
				return err
			}
			b.opts.RootFS, b.runner = root, runner
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if b.want[PhaseDeps] {
		if err := b.step("deps", "Checking build dependencies", func() error { return b.deps(ctx) }); err != nil {
			return nil, err
		}
	}
	// A full build starts from clean work directories, as abuild's does.
	if b.want[PhaseFetch] && b.want[PhaseUnpack] && b.want[PhasePackage] {
		if err := b.cleanWork(); err != nil {
			return nil, err
		}
	}
	var fetched []string
	if b.want[PhaseFetch] || b.want[PhaseVerify] || b.want[PhaseUnpack] {
		if err := b.step("fetch", "Fetching and verifying sources", func() error {
			var err error
			fetched, err = b.fetch(ctx, b.want[PhaseVerify] || b.want[PhaseUnpack])
			return err
		}); err != nil {
			return nil, err
		}
	}
	if b.want[PhaseUnpack] {
		if err := b.step("unpack", "Unpacking sources", func() error { return b.unpack(ctx, fetched) }); err != nil {
			return nil, err
		}
	}
	if err := b.checkUnpacked(); err != nil {
		return nil, err
	}
	net := b.recipeNet()
	for _, ph := range []Phase{PhasePrepare, PhaseBuild, PhaseCheck} {
		if !b.want[ph] {
			continue
		}
		if ph == PhaseCheck {
			if why := b.skipCheck(); why != "" {
				b.infof("check skipped: %s", why)
				continue
			}
		}
		if err := b.step(string(ph), "Running "+string(ph)+"()", func() error { return b.runDriver(ctx, net, string(ph)) }); err != nil {
			return nil, err
		}
	}
	if !b.want[PhasePackage] {
		if !b.want[PhaseIndex] {
			return res, nil
		}
		// Index only: add what an earlier package run staged.
		if err := b.step("index", "Adding packages to the repository", func() error {
			staged, err := b.staged()
			if err != nil {
				return err
			}
			res.Packages, err = b.addToRepo(ctx, staged)
			return err
		}); err != nil {
			return nil, err
		}
		if !b.opts.Keep {
			if err := b.cleanWork(); err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	var pkgs []*pkgBuild
	if err := b.step("package", "Running package()", func() error {
		var err error
		pkgs, err = b.packageAndSplit(ctx, net)
		return err
	}); err != nil {
		return nil, err
	}
	if err := b.step("postprocess", "Checking, stripping and tracing packages", func() error { return b.postprocess(ctx, pkgs) }); err != nil {
		return nil, err
	}
	res.ForeignLibc = b.foreignLibc(pkgs)
	for _, pb := range pkgs {
		if pb.info, err = b.composeInfo(pb); err != nil {
			return nil, &PhaseError{Phase: "package", Log: b.d.logFile, Err: err}
		}
	}
	if err := b.step("write", "Writing packages", func() error {
		var err error
		res.Packages, err = b.write(ctx, pkgs)
		return err
	}); err != nil {
		return nil, err
	}
	if !b.opts.Keep && !b.keepWork {
		if err := b.cleanWork(); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// skipCheck says why check() does not run ("" when it runs).
func (b *builder) skipCheck() string {
	switch {
	case b.opts.NoCheck:
		return "--no-check"
	case b.plan.hasPkgOption(b.plan.pkgname, "!check"):
		return "the recipe's options contain !check"
	case b.opts.Env["ABUILD_BOOTSTRAP"] != "":
		return "ABUILD_BOOTSTRAP is set"
	case b.opts.BuildArch != b.opts.Arch:
		return "cross compiling"
	}
	return ""
}

// cleanWork removes srcdir, pkgbasedir and tmpdir.
func (b *builder) cleanWork() error {
	return Clean(b.d.startdir)
}

// Clean removes the work directories (src, pkg, tmp) of the recipe in
// startdir, forcing write permission on read-only content first.
func Clean(startdir string) error {
	for _, d := range []string{"src", "pkg", "tmp"} {
		if err := removeAll(filepath.Join(startdir, d)); err != nil {
			return fmt.Errorf("clean: %w", err)
		}
	}
	return nil
}

func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	// Make read-only directories writable, then try again.
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() && fi.Mode().Perm()&0o700 != 0o700 {
			_ = os.Chmod(p, fi.Mode().Perm()|0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// deps checks the build dependencies (§6.2): those the build root's apk
// database provides are there; the others are installed, or missing.
func (b *builder) deps(ctx context.Context) error {
	var need []string
	provided := b.installedNames()
	for _, d := range b.buildNeeds() {
		// A plain name is met by what is installed; a versioned one only
		// in a root made for these very dependencies (Options.Root), and
		// a conflict (!name) is always passed on.
		met := !strings.HasPrefix(d, "!") && (d == depName(d) || b.opts.Root != nil) && provided[depName(d)]
		if !met {
			need = append(need, d)
		}
	}
	if len(need) == 0 {
		return nil
	}
	if b.opts.NoDeps {
		b.warnf("not installing build dependencies, as asked: %s", strings.Join(need, " "))
		return nil
	}
	return b.installDeps(ctx, need)
}

// installedNames returns the names the build root's apk database holds:
// each package's name and what it provides (nil without a database).
func (b *builder) installedNames() map[string]bool {
	root := b.opts.RootFS
	if root == "" {
		root = "/"
	}
	data, err := os.ReadFile(filepath.Join(root, "lib", "apk", "db", "installed"))
	if err != nil {
		return nil
	}
	recs, err := index.ParseText(data)
	if err != nil {
		return nil
	}
	names := map[string]bool{}
	for _, r := range recs {
		names[r.Name] = true
		for _, p := range r.Provides {
			names[depName(p)] = true
		}
	}
	return names
}

// buildNeeds returns the recipe's build dependencies as abuild computes
// them: depends and makedepends, and checkdepends unless the check is
// skipped, without the recipe's own packages.
func (b *builder) buildNeeds() []string {
	p := b.plan
	own := map[string]bool{p.pkgname: true}
	for _, s := range p.subpackages {
		own[s.Name] = true
	}
	var need []string
	list := append(append([]string(nil), p.depends...), p.makedepends...)
	if b.skipCheck() == "" {
		list = append(list, p.checkdepends...)
	}
	seen := map[string]bool{}
	for _, d := range list {
		if own[depName(d)] || seen[d] {
			continue
		}
		seen[d] = true
		need = append(need, d)
	}
	return need
}

func depName(item string) string {
	item = strings.TrimPrefix(item, "!")
	if i := strings.IndexAny(item, "<>=~"); i >= 0 {
		return item[:i]
	}
	return item
}

// fetch makes every source available (downloading remote ones into the
// cache) and, with verify, checks each against its checksum (§6.4).
func (b *builder) fetch(ctx context.Context, verify bool) ([]string, error) {
	if len(b.plan.sources) == 0 {
		return nil, nil
	}
	items := append([]source.Item(nil), b.plan.sources...)
	if verify {
		for _, it := range items {
			if it.Sum.IsZero() {
				return nil, fmt.Errorf("%s: %w", it.Name, ErrNoChecksum)
			}
		}
	}
	res, err := source.Fetch(ctx, items, source.Options{
		Cache:    b.opts.Srcdest,
		Mirror:   b.opts.DistfilesMirror,
		Offline:  b.opts.Offline,
		NoVerify: !verify,
		Client:   b.opts.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(res))
	for i, r := range res {
		paths[i] = r.Path
	}
	return paths, nil
}

// unpack links every source into srcdir and extracts archives there (§6.5).
func (b *builder) unpack(ctx context.Context, paths []string) error {
	if err := os.MkdirAll(b.d.srcdir, 0o755); err != nil {
		return err
	}
	for i, s := range b.plan.sources {
		link := filepath.Join(b.d.srcdir, s.Name)
		_ = os.Remove(link)
		if err := os.Symlink(paths[i], link); err != nil {
			return err
		}
		if source.FormatOf(s.Name).IsArchive() {
			b.infof("Unpacking %s", s.Name)
			if err := source.Unpack(ctx, paths[i], b.d.srcdir, source.UnpackOptions{}); err != nil {
				return err
			}
		}
	}
	// A recipe's own unpack() runs after apkit's (which is what its
	// default_unpack call stands for).
	if b.plan.functions["unpack"] {
		return b.runDriver(ctx, false, "unpack")
	}
	return nil
}

// packageAndSplit runs package() and every split function, collecting each
// package's metadata as its function left it.
func (b *builder) packageAndSplit(ctx context.Context, net bool) ([]*pkgBuild, error) {
	p := b.plan
	if err := removeAll(b.d.pkgbasedir); err != nil {
		return nil, err
	}
	if err := b.runDriver(ctx, net, "package"); err != nil {
		return nil, err
	}
	mainDir := filepath.Join(b.d.pkgbasedir, p.pkgname)
	if _, err := os.Stat(mainDir); err != nil {
		return nil, fmt.Errorf("package() did not create $pkgdir")
	}
	meta, err := readMeta(filepath.Join(b.d.controldir, "meta"))
	if err != nil {
		return nil, err
	}
	pkgs := []*pkgBuild{{name: p.pkgname, dir: mainDir, arch: p.pkgarch, meta: meta}}
	for _, sp := range p.subpackages {
		if sp.Name == p.pkgname+"-dbg" {
			if err := b.listDbgFiles(pkgs); err != nil {
				return nil, err
			}
		}
		end := b.progress.StartPhase("split-"+sp.Name, "Running split function "+sp.Func+"() for "+sp.Name)
		fmt.Fprintf(b.log, ">>> split %s (%s)\n", sp.Name, sp.Func)
		err := b.runDriver(ctx, net, "split", sp.Name, sp.Func, sp.Arch)
		end(err)
		if err != nil {
			return nil, &PhaseError{Phase: "split " + sp.Name, Tail: b.tail.Lines(), Log: b.d.logFile, Err: err}
		}
		meta, err := readMeta(filepath.Join(b.d.controldir, "meta"))
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, &pkgBuild{name: sp.Name, dir: filepath.Join(b.d.pkgbasedir, sp.Name), arch: sp.Arch, meta: meta})
	}
	return pkgs, nil
}

// listDbgFiles writes, for the default dbg split function, the shared
// objects of every package directory made so far, each inode once, as
// abuild's scanelf over $pkgbasedir/* does. Of the names of a file with
// hard links, the debug file is named after the first one found. The
// package directories come in the order of the shell's glob, by name;
// within one, scanelf -R takes entries in the order the file system lists
// them, which nothing defines, so apkit takes them in path order.
func (b *builder) listDbgFiles(pkgs []*pkgBuild) error {
	var lines []string
	var seen []os.FileInfo
	byName := append([]*pkgBuild(nil), pkgs...)
	sort.Slice(byName, func(i, j int) bool { return filepath.Base(byName[i].dir) < filepath.Base(byName[j].dir) })
	for _, pb := range byName {
		t, err := scan.Scan(pb.dir)
		if err != nil {
			return err
		}
		for _, e := range t.ELF {
			if e.Type != elf.ET_DYN || strings.HasPrefix(e.Path, "usr/lib/debug/") {
				continue
			}
			path := filepath.Join(t.Root, filepath.FromSlash(e.Path))
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			dup := false
			for _, s := range seen {
				if os.SameFile(s, fi) {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			seen = append(seen, fi)
			lines = append(lines, path)
		}
	}
	path := filepath.Join(b.d.controldir, "dbg-files")
	b.env = append(b.env, "APKIT_DBG_FILES="+path)
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// postprocess runs, per package, the tree checks, stripping and scanning,
// then traces dependencies across all packages.
func (b *builder) postprocess(ctx context.Context, pkgs []*pkgBuild) error {
	p := b.plan
	var problems []error
	for i, pb := range pkgs {
		has := func(o string) bool { return p.hasPkgOption(pb.name, o) }
		removed, err := removeLibtoolArchives(pb.dir, has("libtool"))
		if err != nil {
			return err
		}
		for _, r := range removed {
			b.infof("%s: removed libtool archive %s", pb.name, r)
		}
		// abuild's postcheck deletes *.la before create_apks removes the
		// main package's empty directories.
		if i == 0 && !p.hasOption("keepdirs") {
			removeEmptyDirs(pb.dir)
		}
		t, err := scan.Scan(pb.dir)
		if err != nil {
			return err
		}
		if pb.arch != "noarch" && !has("!strip") && b.opts.Env["DEBUG"] == "" {
			if targets := t.StripTargets(); len(targets) > 0 {
				b.infof("%s: stripping %d files", pb.name, len(targets))
				if err := scan.Strip(ctx, pb.dir, targets, scan.StripOptions{
					Command: b.stripCommand(),
					TempDir: b.d.controldir,
					Run: func(ctx context.Context, argv []string) error {
						return b.runIn(ctx, b.d.controldir, false, argv...)
					},
				}); err != nil {
					return err
				}
				if t, err = scan.Scan(pb.dir); err != nil {
					return err
				}
			}
		}
		pb.tree = t
		for _, e := range t.Problems {
			b.warnf("%s: %v", pb.name, e)
		}
		c := &treeCheck{name: pb.name, dir: pb.dir, arch: pb.arch, has: has, tree: t}
		c.run()
		for _, w := range c.warn {
			b.warnf("%s: %s", pb.name, w)
		}
		if len(c.errs) > 0 {
			for _, e := range c.errs {
				fmt.Fprintf(b.out, ">>> ERROR: %s: %s\n", pb.name, e)
			}
			problems = append(problems, &TreeError{Package: pb.name, Problems: c.errs})
		}
		pb.scripts, err = b.controlFiles(pb.name)
		if err != nil {
			return err
		}
		if emptyByMistake(pb, has("keepdirs")) {
			fn := "package()"
			if i > 0 {
				fn = "its split function"
			}
			b.warnf("%s: package is empty: no files, and no depends, provides, install_if, install scripts or triggers that would make it a metapackage (did %s install anything?)", pb.name, fn)
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	var sp []*scan.Package
	for _, pb := range pkgs {
		if p.hasPkgOption(pb.name, "!tracedeps") {
			sp = append(sp, &scan.Package{Name: pb.name, Version: p.version})
			continue
		}
		sp = append(sp, &scan.Package{
			Name:            pb.name,
			Version:         p.version,
			Tree:            pb.tree,
			Noarch:          pb.arch == "noarch",
			Depends:         fields(pb.meta["depends"]),
			Ldpath:          strings.Split(pb.meta["ldpath"], ":"),
			LdpathRecursive: p.hasPkgOption(pb.name, "ldpath-recursive"),
			SoverNamecheck:  p.hasPkgOption(pb.name, "sover-namecheck"),
			SonamePrefix:    pb.meta["sonameprefix"],
			PCPrefix:        pb.meta["pcprefix"],
			Somask:          fields(pb.meta["somask"]),
		})
	}
	results, err := scan.Trace(sp, b.resolver())
	if err != nil {
		return err
	}
	// abuild's pkg-config --print-requires fails on a required module
	// that nothing provides, and the package step with it.
	for i, r := range results {
		for _, m := range r.MissingPC {
			problems = append(problems, fmt.Errorf("%s: %s requires %s, which no package provides (abuild fails on it too)", pkgs[i].name, m.File, m.Module))
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	for i, pb := range pkgs {
		pb.trace = results[i]
		for _, w := range results[i].Warnings {
			b.warnf("%s", w)
		}
		if p.hasPkgOption(pb.name, "!tracedeps") && pb.tree != nil && pb.tree.HasPkgconfigDir && !hasItem(fields(pb.meta["depends"]), "pkgconfig") {
			pb.trace.AutoDepends = []string{"pkgconfig"}
		}
	}
	return nil
}

func hasItem(items []string, name string) bool {
	for _, it := range items {
		if depName(it) == name {
			return true
		}
	}
	return false
}

func (b *builder) stripCommand() string {
	if s := b.opts.Env["STRIP"]; s != "" {
		return s
	}
	if b.opts.BuildArch != b.opts.Arch {
		return apkbuild.Triplet(b.opts.Arch) + "-strip"
	}
	return "strip"
}

// resolver finds providers of needs outside the build in the build root's
// installed-package database, as abuild asks apk; without one (not an
// Alpine root) a need is met by the build root's files (see fileResolver).
func (b *builder) resolver() scan.Resolver {
	root := b.opts.RootFS
	if root == "" {
		root = "/"
	}
	data, err := os.ReadFile(filepath.Join(root, "lib", "apk", "db", "installed"))
	if err != nil {
		return fileResolver(root)
	}
	recs, err := index.ParseText(data)
	if err != nil {
		b.warnf("installed package database: %v", err)
		return scan.Resolver{}
	}
	provided := map[string]bool{}
	for _, r := range recs {
		for _, p := range r.Provides {
			provided[depName(p)] = true
		}
	}
	lookup := func(prefix string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			return prefix + name, provided[prefix+name]
		}
	}
	return scan.Resolver{Soname: lookup("so:"), PC: lookup("pc:")}
}

// fileResolver finds providers in a build root without apk's database by
// their files: a shared object in the dynamic linker's usual directories,
// a pkg-config module where pkg-config looks. What it finds is written
// under its plain name (so:NAME, pc:NAME).
func fileResolver(root string) scan.Resolver {
	find := func(prefix, suffix string, patterns []string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			if name == "" || strings.ContainsAny(name, "/*?[\\") {
				return "", false
			}
			for _, p := range patterns {
				m, _ := filepath.Glob(filepath.Join(root, p, name+suffix))
				if len(m) > 0 {
					return prefix + name, true
				}
			}
			return "", false
		}
	}
	libDirs := []string{"lib", "usr/lib", "lib64", "usr/lib64", "usr/local/lib", "lib/*-linux-gnu*", "usr/lib/*-linux-gnu*"}
	pcDirs := []string{"usr/lib/pkgconfig", "usr/share/pkgconfig", "usr/local/lib/pkgconfig", "usr/local/share/pkgconfig", "usr/lib/*/pkgconfig", "usr/local/lib/*/pkgconfig"}
	return scan.Resolver{Soname: find("so:", "", libDirs), PC: find("pc:", ".pc", pcDirs)}
}

// controlFiles lists the install scripts and trigger of package name, in
// the order of $install then $triggers (§6.11.2, §8).
func (b *builder) controlFiles(name string) ([]controlFile, error) {
	var out []controlFile
	for _, f := range b.plan.install {
		pkg, action, ok := cutLast(f, ".")
		if !ok || pkg != name {
			continue
		}
		switch action {
		case "pre-install", "post-install", "pre-upgrade", "post-upgrade", "pre-deinstall", "post-deinstall":
		default:
			return nil, fmt.Errorf("install script %s: unknown action %q", f, action)
		}
		path := filepath.Join(b.d.startdir, f)
		if err := regularFile(path); err != nil {
			return nil, fmt.Errorf("install script: %w", err)
		}
		if data, err := os.ReadFile(path); err == nil && permCommand().Match(data) {
			b.warnf("%s: install script %s changes ownership or permissions; do that in package()", name, f)
		}
		out = append(out, controlFile{Name: "." + action, Path: path})
	}
	for _, t := range b.plan.triggers {
		if t.Pkg != name {
			continue
		}
		path := filepath.Join(b.d.startdir, t.File)
		if err := regularFile(path); err != nil {
			return nil, fmt.Errorf("trigger: %w", err)
		}
		out = append(out, controlFile{Name: ".trigger", Path: path})
	}
	return out, nil
}

// permCommand finds chown, chmod and chgrp commands in a script (§8).
var permCommand = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(^|[\s;&|(])(chown|chmod|chgrp)\s`) })

// regularFile checks that path is a regular file of the recipe directory,
// not a symlink that could pull a host file into a package.
func regularFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", filepath.Base(path))
	}
	if fi.Size() > 1<<20 {
		return fmt.Errorf("%s: larger than 1 MiB", filepath.Base(path))
	}
	return nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// emptyByMistake reports whether a package has nothing in it and nothing
// that would make it useful without files: no depends, provides,
// install_if, install scripts or triggers. Directories alone count as
// content only with keepdirs.
func emptyByMistake(pb *pkgBuild, keepdirs bool) bool {
	for _, k := range []string{"depends", "provides", "install_if"} {
		if len(fields(pb.meta[k])) > 0 {
			return false
		}
	}
	if len(pb.scripts) > 0 || (keepdirs && len(pb.tree.Entries) > 0) {
		return false
	}
	for _, e := range pb.tree.Entries {
		if fi, err := os.Lstat(filepath.Join(pb.dir, filepath.FromSlash(e))); err == nil && !fi.IsDir() {
			return false
		}
	}
	return true
}

// pkgInfo is the .PKGINFO of one package (APK-FORMAT.md §7).
type pkgInfo = apk.PkgInfo

// composeInfo fills .PKGINFO from the package's metadata (§6.11.2).
func (b *builder) composeInfo(pb *pkgBuild) (*pkgInfo, error) {
	m := pb.meta
	info := &pkgInfo{
		Header:      []string{"Generated by apkit"},
		Name:        pb.name,
		Version:     b.plan.version,
		Description: m["pkgdesc"],
		URL:         m["url"],
		BuildDate:   b.sde,
		Packager:    b.opts.Packager,
		Arch:        pb.arch,
		Origin:      b.plan.pkgname,
		Commit:      b.commit,
		Maintainer:  m["maintainer"],
		License:     strings.Join(fields(m["license"]), " "),
		Replaces:    fields(m["replaces"]),
		Provides:    fields(m["provides"]),
		InstallIf:   fields(m["install_if"]),
		// abuild writes the marker for every package, detected or not.
		Detected: true,
	}
	if info.Maintainer == "" {
		info.Maintainer = b.plan.maintainer
	}
	if info.Packager == "" {
		info.Packager = "Unknown"
	}
	if v, err := strconv.ParseUint(m["replaces_priority"], 10, 64); err == nil {
		info.ReplacesPriority = v
	}
	if v, err := strconv.ParseUint(m["provider_priority"], 10, 64); err == nil {
		info.ProviderPriority = v
	}
	deps := fields(m["depends"])
	hasSh := false
	for _, d := range deps {
		if d == pb.name {
			continue
		}
		if depName(d) == "busybox" || d == "/bin/sh" {
			hasSh = true
		}
		info.Depends = append(info.Depends, d)
	}
	if !hasSh && pb.name != "busybox" {
		for _, s := range pb.scripts {
			if shScript(s.Path) {
				info.Depends = append(info.Depends, "/bin/sh")
				break
			}
		}
	}
	for _, t := range b.plan.triggers {
		if t.Pkg == pb.name {
			info.Triggers = append(info.Triggers, t.Dirs...)
		}
	}
	if pb.tree != nil {
		info.Size = uint64(pb.tree.Size)
		if info.Size == 0 && (len(pb.tree.Entries) > 0 || len(pb.scripts) > 0) {
			info.Size = 1
		}
	} else if len(pb.scripts) > 0 {
		info.Size = 1
	}
	if pb.trace != nil {
		info.AutoProvides = pb.trace.Provides
		auto := append(append([]string(nil), pb.trace.Depends...), pb.trace.AutoDepends...)
		info.AutoDepends = auto
	}
	for i, list := range [][]string{info.Depends, info.Provides, info.Replaces, info.InstallIf, info.AutoProvides, info.AutoDepends} {
		for _, d := range list {
			dep, err := version.ParseDependency(d)
			if err == nil && i < 2 {
				// abuild refuses operators other than its own in
				// the depends and provides it writes.
				err = dep.CheckPkginfo()
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pb.name, err)
			}
		}
	}
	return info, nil
}

// shScript reports whether the file's first line is "#!" blanks "/bin/sh".
func shScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := io.ReadFull(f, buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return false
	}
	rest = strings.TrimLeft(rest, " \t")
	return rest == "/bin/sh" || strings.HasPrefix(rest, "/bin/sh ") || strings.HasPrefix(rest, "/bin/sh\t")
}

// writeHook replaces write in tests.
var writeHook func(ctx context.Context, b *builder, pkgs []*pkgBuild) ([]Package, error)

// checkUnpacked fails with [ErrNoBuilddir] when prepare, build, check or
// package are to run without unpack, the recipe has sources, and they
// are not unpacked: those functions would run in the recipe directory,
// far from the tree they expect.
func (b *builder) checkUnpacked() error {
	if b.want[PhaseUnpack] || len(b.plan.sources) == 0 {
		return nil
	}
	for _, ph := range []Phase{PhasePrepare, PhaseBuild, PhaseCheck, PhasePackage} {
		if !b.want[ph] {
			continue
		}
		if _, err := os.Stat(b.d.srcdir); err == nil {
			return nil
		}
		return &PhaseError{Phase: string(ph), Log: b.d.logFile, Err: fmt.Errorf("%w (%s does not exist)", ErrNoBuilddir, b.d.srcdir)}
	}
	return nil
}
