package apkbuild

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/apkit-dev/apkit/pkg/version"
)

// Severity ranks a lint finding.
type Severity string

// Severities: errors are what abuild refuses to build; warnings are what it
// warns about and the style rules of apkbuild-lint.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one lint result.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// String formats the finding as "APKBUILD:LINE:COL: severity: rule: message".
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s: %s", f.File, f.Line, f.Col, f.Severity, f.Rule, f.Message)
}

// ErrorFindings turns the error of [Load] into findings: a syntax error,
// an evaluation failure or each broken rule.
func ErrorFindings(file string, err error) []Finding {
	var out []Finding
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			out = append(out, Finding{File: file, Line: 1, Col: 1, Rule: "read", Severity: SeverityError, Message: err.Error()})
			return
		}
		rule, msg := "evaluate", pe.Msg
		switch {
		case strings.HasPrefix(pe.Msg, "syntax error: "):
			rule, msg = "syntax", strings.TrimPrefix(pe.Msg, "syntax error: ")
		case errors.Is(pe, ErrInvalid) && !strings.Contains(pe.Msg, "exited with status"):
			rule = "validate"
		}
		out = append(out, Finding{File: file, Line: max(pe.Line, 1), Col: max(pe.Col, 1), Rule: rule, Severity: SeverityError, Message: msg})
	}
	walk(err)
	return out
}

// linter collects findings for one recipe.
type linter struct {
	r     *Recipe
	opts  LintOptions
	lines []string
	out   []Finding
}

// LintOptions adjust [LintWith].
type LintOptions struct {
	// OwnFiles are names in the recipe directory that the build itself
	// puts there (its output or download directory, say), which the
	// unexpected-file rule leaves alone.
	OwnFiles []string
}

func (l *linter) add(sev Severity, line, col int, rule, format string, args ...any) {
	l.out = append(l.out, Finding{File: l.r.Name, Line: max(line, 1), Col: max(col, 1), Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

// atVar reports a finding at the assignment of a variable.
func (l *linter) atVar(sev Severity, name, rule, format string, args ...any) {
	line, col := l.r.assignPos(name)
	l.add(sev, line, col, rule, format, args...)
}

// Lint checks a recipe with abuild's validation (spec §12.1) and the
// apkbuild-lint rules (spec §15). Findings are sorted by position. It
// reads the recipe directory for install, trigger and local source files.
func Lint(r *Recipe) []Finding {
	return LintWith(r, LintOptions{})
}

// LintWith is [Lint] with options.
func LintWith(r *Recipe, opts LintOptions) []Finding {
	l := &linter{r: r, opts: opts, lines: strings.Split(string(r.Src), "\n")}
	l.validate()
	l.style()
	SortFindings(l.out)
	return l.out
}

// SortFindings sorts findings by file, line, column and rule.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Col != b.Col {
			return a.Col - b.Col
		}
		return strings.Compare(a.Rule, b.Rule)
	})
}

var (
	digitsRe     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+$`) })
	sourceNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9+@~._-]+$`) })
	maintainerRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[^\s"'<>][^<>]* <[^\s<>@]+@[^\s<>@]+\.[^\s<>@.]+>$`)
	})
	actions = []string{"pre-install", "post-install", "pre-upgrade", "post-upgrade", "pre-deinstall", "post-deinstall"}
)

// validate implements abuild's validate step.
func (l *linter) validate() {
	r := l.r
	v := r.Vars
	for _, name := range []string{"pkgdesc", "url", "license"} {
		if v[name] == "" {
			l.atVar(SeverityError, name, "missing-"+name, "%s is not set", name)
		}
	}
	if len(v["pkgdesc"])+1 > 128 {
		l.atVar(SeverityError, "pkgdesc", "pkgdesc-too-long", "pkgdesc is %d bytes, at most 127 are allowed", len(v["pkgdesc"]))
	}
	if strings.Contains(v["pkgdesc"], "\n") {
		l.atVar(SeverityError, "pkgdesc", "pkgdesc-multiline", "pkgdesc must be one line")
	}
	if _, ok := r.Functions["package"]; !ok {
		l.add(SeverityError, 1, 1, "missing-package-function", "package() is not defined")
	}
	for _, name := range []string{"replaces_priority", "provider_priority"} {
		if v[name] != "" && !digitsRe().MatchString(v[name]) {
			l.atVar(SeverityError, name, "priority-not-number", "%s must be digits only, not %q", name, v[name])
		}
	}
	// Names and split functions.
	seen := map[string]bool{r.Pkgname: true}
	for _, s := range r.Subpackages {
		if seen[s.Name] {
			l.atVar(SeverityError, "subpackages", "duplicate-package-name", "package name %s appears twice", s.Name)
		}
		seen[s.Name] = true
		if _, ok := r.Functions[s.Func]; !ok && !slices.Contains(DefaultSplitFuncs, s.Func) {
			l.atVar(SeverityError, "subpackages", "missing-split-function", "subpackage %s: split function %s() is not defined", s.Name, s.Func)
		}
	}
	// Conflicts only make sense among dependencies.
	for name, deps := range map[string][]version.Dependency{"provides": r.Provides, "install_if": r.InstallIf, "replaces": r.Replaces} {
		for _, d := range deps {
			if d.Conflict {
				l.atVar(SeverityError, name, "invalid-conflict", "%s: %s: '!' is only allowed in dependency lists", name, d)
			}
		}
	}
	// abuild's validate checks the operators of depends and makedepends as
	// the recipe sets them (not the makedepends_build/host default), and
	// packaging checks provides; apk reads more spellings ("~=", "=>").
	type depList struct {
		name string
		deps []version.Dependency
	}
	opLists := []depList{{"depends", r.Depends}, {"provides", r.Provides}}
	if strings.TrimSpace(v["makedepends"]) != "" {
		opLists = append(opLists, depList{"makedepends", r.Makedepends})
	}
	for _, list := range opLists {
		for _, d := range list.deps {
			if d.CheckPkginfo() != nil {
				l.atVar(SeverityError, list.name, "dependency-operator", "%s: invalid version separator %q in %s: abuild accepts only %s", list.name, d.Op, d, strings.Join(version.PkginfoOps, " "))
			}
		}
	}
	for _, d := range r.Provides {
		if d.Name == r.Pkgname {
			l.atVar(SeverityError, "provides", "provides-pkgname", "provides must not name the package itself (%s)", d)
		}
	}
	l.scripts(seen)
	l.sources()
	// Misspellings.
	for _, name := range []string{"depend", "makedepend", "pkguser", "pkggroup", "subpackage", "checkdepend"} {
		if r.Shell[name] != "" {
			l.atVar(SeverityError, name, "misspelled-variable", "%s is set: did you mean %ss?", name, name)
		}
	}
	if r.Shell["conflicts"] != "" {
		l.atVar(SeverityError, "conflicts", "conflicts-variable", "conflicts is not supported: use !name in depends")
	}
	l.maintainer()
	l.secfixes()
	if v["depends_dev"] != "" && !slices.ContainsFunc(r.Subpackages, func(s Subpackage) bool { return strings.HasSuffix(s.Name, "-dev") }) {
		l.atVar(SeverityWarning, "depends_dev", "depends-dev-without-dev", "depends_dev is set but there is no -dev subpackage")
	}
	for _, d := range r.Makedepends {
		if d.Name == "g++" && !r.HasOption("toolchain") {
			l.atVar(SeverityWarning, "makedepends", "gxx-without-toolchain", "g++ in makedepends: build-base already has it (or set option toolchain)")
		}
		if d.Name == "go" && !r.HasOption("net") {
			l.atVar(SeverityWarning, "makedepends", "go-without-net", "go in makedepends without option net: go builds usually download modules")
		}
	}
	l.spdx()
	for _, o := range r.Options {
		name := o
		if _, after, ok := strings.Cut(o, "::"); ok {
			name = after
		} else if strings.Contains(o, ":") {
			continue // custom options are ignored by abuild
		}
		if !slices.Contains(KnownOptions, name) {
			l.atVar(SeverityWarning, "options", "unknown-option", "unknown option %s", o)
		}
	}
}

// KnownOptions are the options abuild acts on (spec §3.5).
var KnownOptions = []string{
	"!check", "checkroot", "net", "!strip", "!tracedeps", "!fhs", "!archcheck", "!dbg", "!spdx",
	"!usrmerge", "textrels", "suid", "setcap", "lib64", "libtool", "charset.alias", "keepdirs",
	"bigdocs", "toolchain", "ldpath-recursive", "sover-namecheck", "chmod-clean",
}

// scripts checks install and triggers (spec §8).
func (l *linter) scripts(pkgs map[string]bool) {
	r := l.r
	for _, f := range r.Install {
		pkg, action, ok := cutLast(f, ".")
		if !ok || !slices.Contains(actions, action) {
			l.atVar(SeverityError, "install", "invalid-install", "install script %s: must be <pkg>.<action> with action one of %s", f, strings.Join(actions, ", "))
			continue
		}
		if !pkgs[pkg] {
			l.atVar(SeverityError, "install", "invalid-install", "install script %s: %s is not a package of this recipe", f, pkg)
		}
		l.checkFile("install", f, "missing-install-file")
	}
	for _, t := range r.Triggers {
		if len(t.Paths) == 0 {
			l.atVar(SeverityError, "triggers", "invalid-trigger", "trigger %s: must be <pkg>.trigger=<dir>[:<dir>...]", t.Script)
			continue
		}
		pkg, ok := strings.CutSuffix(t.Script, ".trigger")
		if !ok {
			l.atVar(SeverityError, "triggers", "invalid-trigger", "trigger %s: the file name must end in .trigger", t.Script)
			continue
		}
		if !pkgs[pkg] {
			l.atVar(SeverityError, "triggers", "invalid-trigger", "trigger %s: %s is not a package of this recipe", t.Script, pkg)
		}
		l.checkFile("triggers", t.Script, "missing-trigger-file")
	}
}

func (l *linter) checkFile(varName, name, rule string) {
	if l.r.Dir == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(l.r.Dir, name)); err != nil {
		l.atVar(SeverityError, varName, rule, "%s does not exist in the recipe directory", name)
	}
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// sources checks source entries against abuild's rules and the checksums.
func (l *linter) sources() {
	r := l.r
	names := map[string]bool{}
	for _, s := range r.Sources {
		if !sourceNameRe().MatchString(s.Name) {
			l.add(SeverityError, s.Line, 1, "invalid-source-name", "source %s: file names may only use A-Z a-z 0-9 + @ ~ . _ -", s.Name)
		}
		if names[s.Name] {
			l.add(SeverityError, s.Line, 1, "duplicate-source", "source file name %s appears twice", s.Name)
		}
		names[s.Name] = true
		if s.URL != "" {
			for _, bad := range []string{r.Pkgver + ".tar.", "v" + r.Pkgver + ".tar."} {
				if strings.HasPrefix(s.Name, bad) {
					l.add(SeverityError, s.Line, 1, "source-needs-rename", "source %s: remote file named after pkgver only; rename it with name::url", s.Name)
				}
			}
			continue
		}
		if slices.Contains(r.Install, s.Name) {
			l.add(SeverityWarning, s.Line, 1, "install-in-source", "install script %s should not be in source", s.Name)
		}
		if r.Dir == "" {
			continue
		}
		p := filepath.Join(r.Dir, s.Local)
		data, err := os.ReadFile(p)
		if err != nil {
			l.add(SeverityError, s.Line, 1, "missing-source-file", "local source %s does not exist", s.Local)
			continue
		}
		if strings.HasSuffix(s.Name, ".initd") {
			first, _, _ := strings.Cut(string(data), "\n")
			if !strings.HasPrefix(first, "#!") || !strings.HasSuffix(strings.TrimSpace(first), "/sbin/openrc-run") {
				l.add(SeverityError, s.Line, 1, "initd-shebang", "%s must start with #!/sbin/openrc-run", s.Name)
			}
		}
	}
	if len(r.Checksums) > 0 {
		sums := map[string]bool{}
		for _, c := range r.Checksums {
			sums[c.Name] = true
			if !names[c.Name] {
				l.atVar(SeverityError, c.Algo+"sums", "checksum-not-source", "checksum for %s, which is not a source: run apkit checksum", c.Name)
			}
			if n := map[string]int{"sha512": 128, "sha256": 64, "md5": 32}[c.Algo]; n > 0 && (len(c.Digest) != n || strings.Trim(strings.ToLower(c.Digest), "0123456789abcdef") != "") {
				l.atVar(SeverityError, c.Algo+"sums", "invalid-checksum", "%q for %s is not a %s digest (%d hex digits): run apkit checksum", c.Digest, c.Name, c.Algo, n)
			}
		}
		for _, s := range r.Sources {
			if !sums[s.Name] {
				l.add(SeverityError, s.Line, 1, "missing-checksum", "source %s has no checksum: run apkit checksum, or apkit bump --pkgver to change pkgver and checksums together", s.Name)
			}
		}
		switch r.Checksums[0].Algo {
		case "sha256":
			l.atVar(SeverityWarning, "sha256sums", "old-checksum", "sha256sums is deprecated: run apkit checksum for sha512sums")
		case "md5":
			l.atVar(SeverityWarning, "md5sums", "unsupported-checksum", "md5sums are no longer supported and are ignored")
		}
	} else if len(r.Sources) > 0 {
		l.atVar(SeverityError, "source", "missing-checksum", "source is set but there are no checksums: run apkit checksum")
	}
	if r.Vars["sha1sums"] != "" {
		l.atVar(SeverityWarning, "sha1sums", "unsupported-checksum", "sha1sums are no longer supported and are ignored")
	}
	// Files in startdir that nothing names.
	if r.Dir == "" {
		return
	}
	entries, err := os.ReadDir(r.Dir)
	if err != nil {
		return
	}
	// src, pkg, tmp and build.log are what a build leaves behind; a
	// Makefile next to the recipe drives builds, it is not a source.
	known := map[string]bool{"APKBUILD": true, "src": true, "pkg": true, "tmp": true, "build.log": true, "Makefile": true, "GNUmakefile": true}
	for _, f := range l.opts.OwnFiles {
		known[f] = true
	}
	for _, s := range r.Sources {
		if s.Local != "" {
			known[strings.SplitN(s.Local, "/", 2)[0]] = true
		}
	}
	for _, f := range r.Install {
		known[f] = true
	}
	for _, t := range r.Triggers {
		known[t.Script] = true
	}
	for _, e := range entries {
		if !known[e.Name()] && !strings.HasPrefix(e.Name(), ".") {
			l.add(SeverityWarning, 1, 1, "unexpected-file", "%s is in the recipe directory but not in source, install or triggers", e.Name())
		}
	}
}

// ValidMaintainer reports whether s has the form a Maintainer comment must
// have: "Name <user@example.org>".
func ValidMaintainer(s string) bool { return maintainerRe().MatchString(s) }

// maintainer checks the maintainer variable and comments.
func (l *linter) maintainer() {
	r := l.r
	if len(r.Maintainers) > 1 {
		l.add(SeverityError, r.Maintainers[1].Line, 1, "multiple-maintainers", "more than one Maintainer comment")
	}
	line := 0
	if len(r.Maintainers) > 0 {
		line = r.Maintainers[0].Line
	}
	if r.Vars["maintainer"] != "" {
		line = r.AssignLine("maintainer")
	}
	switch {
	case r.Maintainer == "" && line == 0:
		l.add(SeverityWarning, 1, 1, "no-maintainer", "no maintainer: add a '# Maintainer: Name <email>' comment")
	case r.Maintainer != "" && !maintainerRe().MatchString(r.Maintainer):
		l.add(SeverityError, line, 1, "maintainer-format", "maintainer %q must look like Name <user@example.org>", r.Maintainer)
	}
}

var (
	secfixVersionRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#   [0-9][^ \t]*:$`) })
	// Like abuild, only the start of an ID is checked (GHSA IDs continue
	// in lower case).
	secfixIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#  +- [A-Z0-9-]`) })
)

// secfixes checks the "# secfixes:" comment block.
func (l *linter) secfixes() {
	in := false
	for i, line := range l.lines {
		if line == "# secfixes:" {
			in = true
			continue
		}
		if !in {
			continue
		}
		if line == "" || !strings.HasPrefix(line, "#") {
			return
		}
		if line == "#" {
			continue
		}
		if strings.Contains(line, "\t") || !secfixVersionRe().MatchString(line) && !secfixIDRe().MatchString(line) {
			l.add(SeverityError, i+1, 1, "secfixes-format", "secfixes lines must be '#   <version>:' or '#     - <ID>', without tabs")
		}
	}
}

// spdx warns about license words that are not SPDX identifiers, when the
// system has the SPDX list.
func (l *linter) spdx() {
	if l.r.HasOption("!spdx") {
		return
	}
	data, err := os.ReadFile("/usr/share/spdx/license.lst")
	if err != nil {
		return
	}
	known := map[string]bool{}
	for _, w := range strings.Fields(string(data)) {
		known[w] = true
	}
	lic := strings.NewReplacer("(", " ", ")", " ").Replace(l.r.License)
	for _, w := range strings.Fields(lic) {
		switch {
		case w == "AND" || w == "OR" || w == "WITH",
			strings.HasPrefix(w, "LicenseRef-"), strings.HasPrefix(w, "AdditionRef-"), known[w]:
		default:
			l.atVar(SeverityWarning, "license", "spdx-license", "%s is not an SPDX license identifier", w)
		}
	}
}

// knownVariables may be assigned at the top level without a leading '_'.
var knownVariables = func() map[string]bool {
	m := map[string]bool{"startdir": true, "srcdir": true, "pkgdir": true, "subpkgdir": true}
	for _, v := range Variables {
		m[v] = true
	}
	return m
}()

var (
	assignRe       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`) })
	funcKeywordRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*function\s+[A-Za-z_][A-Za-z0-9_]*`) })
	spaceBeforeRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*\s+\(\)`) })
	spaceAfterRe   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*\(\)(\{|\s{2,}\{)`) })
	newlineBraceRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*\s*\(\)\s*$`) })
	cdBuilddirRe   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\s*cd\s+("\$builddir"|\$builddir|"\$\{builddir\}"|\$\{builddir\})\s*$`)
	})
	cdRe          = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*cd(\s|$)`) })
	pkgrelInVerRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[-_]r[0-9]+`) })
)

// style implements the apkbuild-lint rules (spec §15).
func (l *linter) style() {
	r := l.r
	warn := func(i int, col int, rule, format string, args ...any) {
		l.add(SeverityWarning, i+1, col, rule, format, args...)
	}
	heredoc := ""
	for i, line := range l.lines {
		if heredoc != "" {
			if strings.TrimLeft(line, "\t") == heredoc {
				heredoc = ""
			}
			continue
		}
		if j := strings.Index(line, "<<"); j >= 0 && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			d := strings.TrimLeft(line[j+2:], "-~ ")
			d = strings.Trim(strings.Fields(d + " x")[0], `'"\`)
			if d != "" && d != "x" && !strings.ContainsAny(d, "<$") {
				heredoc = d
			}
		}
		comment := strings.HasPrefix(strings.TrimSpace(line), "#")
		if strings.HasPrefix(line, "  ") {
			warn(i, 1, "indent-tabs", "indent with tabs")
		}
		if t := strings.TrimRight(line, " \t"); t != line {
			warn(i, len(t)+1, "trailing-whitespace", "trailing whitespace")
		}
		if comment {
			continue
		}
		if j := strings.IndexByte(line, '`'); j >= 0 {
			warn(i, j+1, "backticks-usage", "use $() instead of backticks")
		}
		if strings.Contains(line, "|| return 1") {
			warn(i, strings.Index(line, "|| return 1")+1, "unnecessary-return-1", "|| return 1 is not needed: functions run with set -e")
		}
		if funcKeywordRe().MatchString(line) {
			warn(i, 1, "function-keyword", "do not use the function keyword")
		}
		if spaceBeforeRe().MatchString(line) {
			warn(i, 1, "space-before-function-parenthesis", "no space between the function name and ()")
		}
		if spaceAfterRe().MatchString(line) {
			warn(i, 1, "space-after-function-parenthesis", "exactly one space between () and {")
		}
		if newlineBraceRe().MatchString(line) && i+1 < len(l.lines) && strings.HasPrefix(strings.TrimSpace(l.lines[i+1]), "{") {
			warn(i, 1, "newline-opening-brace", "put the opening brace on the line of the function name")
		}
		m := assignRe().FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, val := m[1], m[2]
		switch val {
		case "", `""`, "''":
			warn(i, 1, "empty-variable", "%s is assigned an empty value: remove the line", name)
		}
		if !knownVariables[name] && !strings.HasPrefix(name, "_") && strings.ToLower(name) == name {
			warn(i, 1, "custom-variable", "custom variable %s should start with _", name)
		}
		if (name == "pkgname" || name == "pkgver") && len(val) > 1 && (val[0] == '"' || val[0] == '\'') && !strings.ContainsAny(val, "$`") {
			warn(i, 1, name+"-quoted", "%s must not be quoted", name)
		}
		if name == "builddir" {
			norm := strings.NewReplacer(`"`, "", "'", "", "{", "", "}", "").Replace(val)
			if norm == "$srcdir/$pkgname-$pkgver" {
				warn(i, 1, "default-builddir-value", "builddir is the default value: remove the line")
			}
		}
	}
	if strings.ToLower(r.Pkgname) != r.Pkgname {
		l.atVar(SeverityWarning, "pkgname", "pkgname-has-uppercase", "pkgname %s has upper-case letters", r.Pkgname)
	}
	if pkgrelInVerRe().MatchString(r.Pkgver) {
		l.atVar(SeverityWarning, "pkgver", "pkgver-has-pkgrel", "pkgver %s holds a release: it belongs in pkgrel", r.Pkgver)
	}
	for _, name := range []string{"prepare", "build", "check", "package"} {
		fn, ok := r.Functions[name]
		if !ok {
			continue
		}
		var cds, builddirCds []int
		for j, line := range strings.Split(fn.Source, "\n") {
			if cdRe().MatchString(line) {
				cds = append(cds, j)
				if cdBuilddirRe().MatchString(line) {
					builddirCds = append(builddirCds, j)
				}
			}
		}
		for k, j := range builddirCds {
			if len(cds) == 1 || (k > 0 && builddirCds[k-1] == j-1) {
				warn(fn.Line-1+j, 1, "superfluous-cd-builddir", "%s() already starts in $builddir", name)
			}
		}
	}
}

// HasErrors reports whether any finding is at error level.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == SeverityError })
}
