package apkbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"mvdan.cc/sh/v3/syntax"

	"github.com/apkit-dev/apkit/pkg/version"
)

// Variables lists every recipe variable of the APKBUILD specification (§2)
// by its shell name, in the order of the specification.
var Variables = []string{
	// §2.1 identity and description
	"pkgname", "pkgver", "pkgrel", "pkgdesc", "url", "license", "arch", "maintainer",
	// §2.2 dependencies and relations
	"depends", "depends_dev", "depends_doc", "depends_static", "depends_libs",
	"depends_openrc", "depends_systemd", "depends_udev", "depends_lang",
	"makedepends", "makedepends_build", "makedepends_host", "checkdepends",
	"provides", "provider_priority", "replaces", "replaces_priority", "install_if",
	// §2.3 sources, scripts, packaging
	"source", "sha512sums", "sha256sums", "md5sums", "sha1sums", "install", "triggers",
	"subpackages", "options", "builddir", "pkgusers", "pkggroups", "ldpath",
	"sonameprefix", "pcprefix", "somask", "langdir", "patch_args",
	"giturl", "reporev", "disturl", "verbase",
}

// Options control how a recipe is evaluated. The zero value evaluates for
// the host's architecture with the default bounds.
type Options struct {
	// Arch is CARCH, the Alpine architecture the recipe is read for; ""
	// means the host's ([HostArch]).
	Arch string
	// Env adds to or overrides the environment abuild gives a recipe
	// (for example REPODEST, JOBS, or CBUILD for a cross build).
	Env map[string]string
	// Timeout bounds the evaluation's wall-clock time, counted from when
	// it starts; 0 means [DefaultTimeout].
	Timeout time.Duration
	// MaxMemory bounds the bytes held in variables and captured output;
	// 0 means [DefaultMaxMemory].
	MaxMemory int64
	// MaxSteps bounds the steps of the evaluation (statements that expand
	// something or run in a loop, weighted by what they may expand), a
	// bound that does not depend on the machine's speed or load; 0 means
	// [DefaultMaxSteps].
	MaxSteps int64
}

// Subpackage is one entry of subpackages, with defaults applied (§3.3).
type Subpackage struct {
	Name string `json:"name"`
	// Func is the split function.
	Func string `json:"func"`
	// Arch is the package arch: noarch, CARCH or another arch name.
	Arch string `json:"arch"`
}

// Source is one entry of source (§3.4).
type Source struct {
	// Name is the file name in srcdir and in the download cache.
	Name string `json:"name"`
	// URL is the remote location, "" for a local file.
	URL string `json:"url,omitempty"`
	// Local is the path relative to the recipe directory of a local file.
	Local string `json:"local,omitempty"`
	// Line is the line of the recipe the entry comes from, 0 if unknown.
	Line int `json:"line,omitempty"`
	// Checksum is the entry's digest from the strongest checksum list, ""
	// when the list has none for it; ChecksumAlgo names the list.
	Checksum     string `json:"checksum,omitempty"`
	ChecksumAlgo string `json:"algo,omitempty"`
}

// Checksum is one "<digest>  <name>" pair of a checksum variable.
type Checksum struct {
	Algo   string `json:"algo"` // sha512, sha256 or md5
	Digest string `json:"digest"`
	Name   string `json:"name"`
}

// Trigger is one entry of triggers: a script and the directories it watches.
type Trigger struct {
	Script string   `json:"script"`
	Paths  []string `json:"paths"`
}

// Function is a shell function the recipe defines.
type Function struct {
	Name string `json:"name"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	// Source is the function's text as written, from its name to its
	// closing brace.
	Source string `json:"source"`
}

// Comment is a "# Key: value" header comment such as Maintainer.
type Comment struct {
	Line  int
	Value string
}

// Recipe is an evaluated APKBUILD. Its fields are views over Vars, which
// holds the exact strings the shell held after sourcing the recipe in
// abuild's environment and applying abuild's defaults.
type Recipe struct {
	// Path is the absolute APKBUILD path; Dir is startdir.
	Path, Dir string
	// Name is the file name used in messages (as given by the caller).
	Name string
	// Src is the recipe's text.
	Src []byte

	// Vars holds every variable of [Variables] ("" when unset).
	Vars map[string]string
	// Shell holds every variable set after evaluation, environment
	// included, for callers that need more than Vars.
	Shell map[string]string
	// Env is the environment the recipe was evaluated in.
	Env map[string]string

	Pkgname, Pkgver, Pkgrel, Pkgdesc, URL, License, Builddir string
	// Maintainer is maintainer= or else the first "# Maintainer:" comment.
	Maintainer string
	// Maintainers lists every "# Maintainer:" comment.
	Maintainers []Comment
	// Arch is the arch list as written.
	Arch []string
	// Carch is the CARCH the recipe was evaluated for.
	Carch string
	// Pkgarch is noarch when Arch holds noarch, else Carch.
	Pkgarch     string
	Subpackages []Subpackage
	Sources     []Source
	Checksums   []Checksum
	Options     []string
	// The relation lists; Makedepends defaults to MakedependsBuild plus
	// MakedependsHost when makedepends is empty, as in abuild.
	Depends, Makedepends, MakedependsBuild, MakedependsHost, Checkdepends,
	Provides, InstallIf, Replaces []version.Dependency
	// Install lists the install script file names.
	Install  []string
	Triggers []Trigger
	// Functions holds the functions the recipe defines, by name.
	Functions map[string]Function
	// Stderr is what the recipe printed on standard error while read.
	Stderr string

	parsed *parsed
}

// Load reads and evaluates the APKBUILD at path, which is the file or the
// directory holding it. When the recipe evaluates but breaks one of
// abuild's rules (an invalid pkgver, a malformed subpackage or source entry,
// mismatched checksum counts, ...), Load returns the Recipe together with
// the error, so that callers such as a linter can still look at it.
func Load(path string, opts Options) (*Recipe, error) {
	return LoadContext(context.Background(), path, opts)
}

// Parse evaluates a recipe read from r. filename is used in messages and
// decides startdir (its directory, made absolute).
func Parse(r io.Reader, filename string, opts Options) (*Recipe, error) {
	src, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filename, err)
	}
	return parse(context.Background(), src, filename, opts)
}

// LoadContext is [Load] with a context that can cancel the evaluation.
func LoadContext(ctx context.Context, path string, opts Options) (*Recipe, error) {
	name := path
	if filepath.Base(path) != "APKBUILD" {
		if fi, err := os.Stat(path); err != nil {
			return nil, err
		} else if fi.IsDir() {
			name = filepath.Join(path, "APKBUILD")
		}
	}
	src, err := readLimited(name)
	if err != nil {
		return nil, err
	}
	return parse(ctx, src, name, opts)
}

// Environment returns the variables abuild provides to a recipe at path
// (the APKBUILD file) before sourcing it, for CARCH arch (spec §1, §4.3),
// with extra merged over them.
func Environment(path, arch string, extra map[string]string) map[string]string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if arch == "" {
		arch = extra["CARCH"]
	}
	if arch == "" {
		arch = HostArch()
	}
	var env map[string]string
	if len(extra) == 0 {
		// The same for every recipe read for arch: built once.
		base, ok := baseEnvs.Load(arch)
		if !ok {
			base, _ = baseEnvs.LoadOrStore(arch, baseEnvironment(arch, nil, len(recipeEnvNames)))
		}
		env = maps.Clone(base.(map[string]string))
	} else {
		env = baseEnvironment(arch, extra, len(recipeEnvNames))
	}
	startdir := filepath.Dir(abs)
	env["APKBUILD"] = abs
	env["startdir"] = startdir
	env["srcdir"] = startdir + "/src"
	env["pkgbasedir"] = startdir + "/pkg"
	env["tmpdir"] = startdir + "/tmp"
	env["repo"] = filepath.Base(filepath.Dir(startdir))
	for _, k := range recipeEnvNames {
		if v, ok := extra[k]; ok {
			env[k] = v
		}
	}
	return env
}

// recipeEnvNames are the variables of [Environment] that depend on the
// recipe's path.
var recipeEnvNames = []string{"APKBUILD", "startdir", "srcdir", "pkgbasedir", "tmpdir", "repo"}

// baseEnvs caches baseEnvironment(arch, nil) by arch.
var baseEnvs sync.Map

// baseEnvironment returns the part of [Environment] that does not depend
// on the recipe's path, with room for room more variables.
func baseEnvironment(arch string, extra map[string]string, room int) map[string]string {
	chost := Triplet(arch)
	env := make(map[string]string, 32+len(extra)+room)
	maps.Copy(env, map[string]string{
		"HOME":      "/home/build",
		"PATH":      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"CFLAGS":    "-Os -fstack-clash-protection -Wformat -Werror=format-security",
		"CXXFLAGS":  "-Os -fstack-clash-protection -Wformat -Werror=format-security -D_GLIBCXX_ASSERTIONS=1 -D_LIBCPP_ENABLE_THREAD_SAFETY_ANNOTATIONS=1 -D_LIBCPP_HARDENING_MODE=_LIBCPP_HARDENING_MODE_FAST",
		"CPPFLAGS":  "",
		"LDFLAGS":   "-Wl,--as-needed,-O1,--sort-common",
		"GOFLAGS":   "-buildmode=pie -modcacherw -trimpath -buildvcs=false",
		"JOBS":      "2",
		"MAKEFLAGS": "-j2",
		"REPODEST":  "/home/build/packages",
		"SRCDEST":   "/var/cache/distfiles",
		"CC":        "cc",
		"CXX":       "c++",
		"LD":        "ld",
	})
	for k, v := range extra {
		env[k] = v
	}
	if extra["CHOST"] != "" {
		chost = Triplet(extra["CHOST"])
	}
	cbuild := chost
	if extra["CBUILD"] != "" {
		cbuild = Triplet(extra["CBUILD"])
	}
	ctarget := chost
	if extra["CTARGET"] != "" {
		ctarget = Triplet(extra["CTARGET"])
	}
	env["CHOST"], env["CBUILD"], env["CTARGET"] = chost, cbuild, ctarget
	env["CARCH"] = ArchOf(chost)
	env["CBUILD_ARCH"] = ArchOf(cbuild)
	env["CTARGET_ARCH"] = ArchOf(ctarget)
	env["CLIBC"] = LibcOf(chost)
	env["CTARGET_LIBC"] = LibcOf(ctarget)
	for _, k := range []string{"CARCH", "CBUILD_ARCH", "CTARGET_ARCH", "CLIBC", "CTARGET_LIBC"} {
		if v, ok := extra[k]; ok {
			env[k] = v
		}
	}
	return env
}

func parse(ctx context.Context, src []byte, filename string, opts Options) (*Recipe, error) {
	abs, err := filepath.Abs(filename)
	if err != nil {
		return nil, err
	}
	p, err := parseShell(src, filename)
	if err != nil {
		return nil, err
	}
	env := Environment(abs, opts.Arch, opts.Env)
	e := &shellEval{
		filename: filename,
		dir:      filepath.Dir(abs),
		env:      env,
		timeout:  opts.Timeout,
		maxMem:   opts.MaxMemory,
		maxSteps: opts.MaxSteps,
		preamble: true,
	}
	res, err := e.run(ctx, p)
	if err != nil {
		return nil, err
	}
	r := &Recipe{
		Path:   abs,
		Dir:    filepath.Dir(abs),
		Name:   filename,
		Src:    src,
		Env:    env,
		Carch:  env["CARCH"],
		parsed: p,
	}
	r.Shell = res.vars
	// abuild's defaults after sourcing.
	if r.Shell["builddir"] == "" {
		r.Shell["builddir"] = r.Shell["srcdir"] + "/" + r.Shell["pkgname"] + "-" + r.Shell["pkgver"]
	}
	r.Vars = make(map[string]string, len(Variables))
	for _, name := range Variables {
		r.Vars[name] = r.Shell[name]
	}
	r.Stderr = res.stderr
	r.Functions = map[string]Function{}
	for name, body := range res.funcs {
		if isHelper(name, body) {
			continue
		}
		r.Functions[name] = functionOf(src, p, name, body)
	}
	return r, r.build()
}

// functionOf finds the declaration whose body is body, for its position
// and text. Functions defined by eval have no text in the file.
func functionOf(src []byte, p *parsed, name string, body *syntax.Stmt) Function {
	fn := Function{Name: name}
	for _, fd := range p.funcs[name] {
		if fd.Body != body {
			continue
		}
		start, end := fd.Pos(), fd.End()
		fn.Line, fn.Col = int(start.Line()), int(start.Col())
		if int(end.Offset()) <= len(src) && start.Offset() <= end.Offset() {
			fn.Source = string(src[start.Offset():end.Offset()])
		}
	}
	return fn
}

// errorf returns an error positioned at the assignment of variable name.
func (r *Recipe) errorf(name string, format string, args ...any) error {
	line, col := r.assignPos(name)
	return &ParseError{File: r.Name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

// assignPos returns the position of the last top-level assignment to name
// (0, 0 when there is none).
func (r *Recipe) assignPos(name string) (int, int) {
	a := r.assignNode(name)
	if a == nil {
		return 0, 0
	}
	return int(a.Pos().Line()), int(a.Pos().Col())
}

// AssignLine returns the line of the last top-level assignment to the
// variable name, 0 if there is none.
func (r *Recipe) AssignLine(name string) int {
	l, _ := r.assignPos(name)
	return l
}

// assignNode returns the last top-level assignment to name.
func (r *Recipe) assignNode(name string) *syntax.Assign {
	if r.parsed == nil {
		return nil
	}
	return r.parsed.assigns[name]
}

// fieldLines returns, for the list variable name with n fields, the line
// each field is written on. When the written text does not split into the
// same number of fields (a variable expanded to several words), every
// field gets the assignment's line.
func (r *Recipe) fieldLines(name string, n int) []int {
	lines := make([]int, n)
	a := r.assignNode(name)
	if a == nil {
		return lines
	}
	first := int(a.Pos().Line())
	for i := range lines {
		lines[i] = first
	}
	if a.Value == nil {
		return lines
	}
	start, end := int(a.Value.Pos().Offset()), int(a.Value.End().Offset())
	if start > end || end > len(r.Src) {
		return lines
	}
	raw := make([]int, 0, n)
	text := r.Src[start:end]
	for line := int(a.Value.Pos().Line()); ; line++ {
		l, rest, more := bytes.Cut(text, []byte("\n"))
		for _, f := range bytes.Fields(l) {
			if len(bytes.Trim(f, "\"'")) > 0 {
				if len(raw) == n {
					return lines // more fields than entries
				}
				raw = append(raw, line)
			}
		}
		if !more {
			break
		}
		text = rest
	}
	if len(raw) == n {
		return raw
	}
	return lines
}

// build fills the structured views from Vars.
func (r *Recipe) build() error {
	v := r.Vars
	r.Pkgname, r.Pkgver, r.Pkgrel = v["pkgname"], v["pkgver"], v["pkgrel"]
	r.Pkgdesc, r.URL, r.License, r.Builddir = v["pkgdesc"], v["url"], v["license"], v["builddir"]
	r.Arch = strings.Fields(v["arch"])
	r.Options = strings.Fields(v["options"])
	r.Install = strings.Fields(v["install"])
	r.Maintainers = headerComments(r.Src, "Maintainer")
	r.Maintainer = v["maintainer"]
	if r.Maintainer == "" && len(r.Maintainers) > 0 {
		r.Maintainer = r.Maintainers[0].Value
	}
	r.Pkgarch = r.Carch
	if slices.Contains(r.Arch, "noarch") {
		r.Pkgarch = "noarch"
	}

	var errs []error
	if r.Pkgname == "" {
		errs = append(errs, r.errorf("pkgname", "pkgname is not set"))
	} else if !ValidName(r.Pkgname) {
		errs = append(errs, r.errorf("pkgname", "invalid pkgname %q", r.Pkgname))
	}
	if r.Pkgver == "" {
		errs = append(errs, r.errorf("pkgver", "pkgver is not set"))
	} else if !version.ValidPkgver(r.Pkgver) {
		errs = append(errs, r.errorf("pkgver", "invalid pkgver %q: not an apk version", r.Pkgver))
	}
	if r.Pkgrel != "" && !version.Valid("0-r"+r.Pkgrel) {
		errs = append(errs, r.errorf("pkgrel", "invalid pkgrel %q: not a non-negative integer", r.Pkgrel))
	}

	subs, err := r.parseSubpackages()
	errs = append(errs, err)
	r.Subpackages = subs
	srcs, err := r.parseSources()
	errs = append(errs, err)
	r.Sources = srcs
	sums, err := r.parseChecksums()
	errs = append(errs, err)
	r.Checksums = sums
	byName := make(map[string]Checksum, len(sums))
	for _, c := range sums {
		byName[c.Name] = c
	}
	for i := range r.Sources {
		if c, ok := byName[r.Sources[i].Name]; ok {
			r.Sources[i].Checksum, r.Sources[i].ChecksumAlgo = c.Digest, c.Algo
		}
	}
	r.Triggers = parseTriggers(v["triggers"])
	if len(sums) > 0 && len(sums) != len(srcs) {
		algo := sums[0].Algo + "sums"
		errs = append(errs, r.errorf(algo, "%s has %d entries but source has %d", algo, len(sums), len(srcs)))
	}

	deps := func(name string, dst *[]version.Dependency) {
		d, err := version.ParseDependencies(v[name])
		*dst = d
		if err != nil {
			errs = append(errs, r.errorf(name, "%s: %v", name, err))
		}
	}
	deps("depends", &r.Depends)
	deps("makedepends", &r.Makedepends)
	deps("makedepends_build", &r.MakedependsBuild)
	deps("makedepends_host", &r.MakedependsHost)
	deps("checkdepends", &r.Checkdepends)
	deps("provides", &r.Provides)
	deps("install_if", &r.InstallIf)
	deps("replaces", &r.Replaces)
	if strings.TrimSpace(v["makedepends"]) == "" {
		// abuild's default: the build and host lists together.
		r.Makedepends = append(slices.Clip(r.MakedependsBuild), r.MakedependsHost...)
	}
	return errors.Join(errs...)
}

// ValidName reports whether s is a valid package name: characters
// [A-Za-z0-9._+-], the first alphanumeric.
func ValidName(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// headerComments returns the values of "# key: value" comment lines.
func headerComments(src []byte, key string) []Comment {
	var out []Comment
	prefix := []byte("# " + key + ":")
	line, counted := 1, 0 // line is the line of src[counted]
	for off := 0; ; {
		i := bytes.Index(src[off:], prefix)
		if i < 0 {
			return out
		}
		i += off
		off = i + len(prefix)
		if i > 0 && src[i-1] != '\n' {
			continue // not at the start of a line
		}
		line += bytes.Count(src[counted:i], []byte("\n"))
		counted = i
		end := bytes.IndexByte(src[off:], '\n')
		if end < 0 {
			end = len(src) - off
		}
		out = append(out, Comment{Line: line, Value: string(bytes.TrimPrefix(src[off:off+end], []byte(" ")))})
	}
}

// noarchSuffixes are subpackage name endings whose default arch is noarch.
var noarchSuffixes = []string{"-doc", "-openrc", "-lang", "sh-completion", "-pyc", "-nftrules", "-systemd", "-udev"}

// splitFunc returns the default split function of a subpackage name.
func splitFunc(name string) string {
	switch {
	case strings.HasSuffix(name, "-bash-completion"):
		return "bashcomp"
	case strings.HasSuffix(name, "-zsh-completion"):
		return "zshcomp"
	case strings.HasSuffix(name, "-fish-completion"):
		return "fishcomp"
	}
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// DefaultSplitFuncs are the split functions abuild provides (§7).
var DefaultSplitFuncs = []string{"doc", "dev", "static", "libs", "dbg", "openrc", "systemd", "udev", "lang", "devhelp", "bashcomp", "zshcomp", "fishcomp", "pyc", "nftrules"}

func (r *Recipe) parseSubpackages() ([]Subpackage, error) {
	var subs []Subpackage
	var errs []error
	env := r.Env
	for _, entry := range strings.Fields(r.Vars["subpackages"]) {
		parts := strings.Split(entry, ":")
		if len(parts) > 3 {
			errs = append(errs, r.errorf("subpackages", "subpackage %q: more than name:func:arch", entry))
			continue
		}
		s := Subpackage{Name: parts[0]}
		if !ValidName(s.Name) {
			errs = append(errs, r.errorf("subpackages", "subpackage %q: invalid name", entry))
			continue
		}
		if len(parts) > 1 {
			s.Func = parts[1]
		}
		if s.Func == "" {
			s.Func = splitFunc(s.Name)
		}
		a := ""
		if len(parts) > 2 {
			a = parts[2]
		}
		switch a {
		case "":
			s.Arch = r.Pkgarch
			for _, suf := range noarchSuffixes {
				if strings.HasSuffix(s.Name, suf) {
					s.Arch = "noarch"
				}
			}
		case "noarch", r.Carch:
			s.Arch = a
		case "all", env["CHOST"]:
			s.Arch = r.Carch
		case env["CBUILD_ARCH"], env["CBUILD"]:
			s.Arch = env["CBUILD_ARCH"]
		case env["CTARGET_ARCH"], env["CTARGET"]:
			s.Arch = env["CTARGET_ARCH"]
		default:
			errs = append(errs, r.errorf("subpackages", "subpackage %q: invalid arch %q", entry, a))
			continue
		}
		subs = append(subs, s)
	}
	return subs, errors.Join(errs...)
}

// remote reports whether a source text names a remote file.
func remote(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "ftp://")
}

func (r *Recipe) parseSources() ([]Source, error) {
	var srcs []Source
	var errs []error
	entries := strings.Fields(r.Vars["source"])
	lines := r.fieldLines("source", len(entries))
	for i, entry := range entries {
		s := Source{Line: lines[i]}
		name, url, renamed := strings.Cut(entry, "::")
		switch {
		case renamed && remote(url):
			s.Name, s.URL = name, url
		case renamed:
			// abuild treats "name::x" with a non-remote x as a local file
			// named by the whole text.
			s.Local = entry
			s.Name = filepath.Base(entry)
		case remote(entry):
			s.URL = entry
			s.Name = entry[strings.LastIndexByte(entry, '/')+1:]
		default:
			s.Local = entry
			s.Name = filepath.Base(entry)
		}
		if s.Name == "" {
			errs = append(errs, &ParseError{File: r.Name, Line: s.Line, Msg: fmt.Sprintf("source %q: empty file name", entry), Err: ErrInvalid})
			continue
		}
		srcs = append(srcs, s)
	}
	return srcs, errors.Join(errs...)
}

func (r *Recipe) parseChecksums() ([]Checksum, error) {
	var errs []error
	var out []Checksum
	for _, algo := range []string{"sha512", "sha256", "md5"} {
		name := algo + "sums"
		words := strings.Fields(r.Vars[name])
		if len(words) == 0 {
			continue
		}
		if len(words)%2 != 0 {
			errs = append(errs, r.errorf(name, "%s: odd number of words (%d): each line must be '<digest>  <file>'", name, len(words)))
		}
		out = make([]Checksum, 0, len(words)/2)
		for i := 0; i+1 < len(words); i += 2 {
			out = append(out, Checksum{Algo: algo, Digest: words[i], Name: words[i+1]})
		}
		if len(out) > 0 {
			break // abuild uses the strongest list present
		}
	}
	return out, errors.Join(errs...)
}

func parseTriggers(s string) []Trigger {
	var out []Trigger
	for _, entry := range strings.Fields(s) {
		script, paths, _ := strings.Cut(entry, "=")
		t := Trigger{Script: script}
		if paths != "" {
			t.Paths = strings.Split(paths, ":")
		}
		out = append(out, t)
	}
	return out
}

// HasOption reports whether the options list holds name, or
// "<pkgname>::name".
func (r *Recipe) HasOption(name string) bool {
	for _, o := range r.Options {
		if o == name || o == r.Pkgname+"::"+name {
			return true
		}
	}
	return false
}

// BuildsFor reports whether the arch list allows building for carch
// (§3.2): some token is all, noarch or carch, and no token is !carch.
func (r *Recipe) BuildsFor(carch string) bool {
	return ArchAllows(r.Arch, carch)
}

// ArchAllows applies the arch list semantics of §3.2 to a list of tokens.
func ArchAllows(arch []string, carch string) bool {
	ok := false
	for _, a := range arch {
		switch a {
		case "!" + carch:
			return false
		case "all", "noarch", carch:
			ok = true
		}
	}
	return ok
}

// Version returns "$pkgver-r$pkgrel".
func (r *Recipe) Version() string { return r.Pkgver + "-r" + r.Pkgrel }
