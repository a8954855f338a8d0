package build

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// subpackage is one entry of $subpackages.
type subpackage struct {
	Name, Func, Arch string
}

// srcEntry is one entry of $source with its expected checksum.
type srcEntry struct {
	Name   string // saved name
	URL    string // remote URL ("" for local files)
	Local  string // local path
	Sha512 string // expected sha512 ("" when none is listed)
}

// trigger is one entry of $triggers.
type trigger struct {
	Pkg, File string
	Dirs      []string
}

// plan is what the pipeline needs to know about a recipe before building.
type plan struct {
	vars                               map[string]string
	pkgname, pkgver, pkgrel, version   string
	arch                               []string
	pkgarch                            string
	subpackages                        []subpackage
	sources                            []srcEntry
	options                            []string
	depends, makedepends, checkdepends []string
	install                            []string
	triggers                           []trigger
}

func (p *plan) hasOption(o string) bool {
	for _, x := range p.options {
		if x == o {
			return true
		}
	}
	return false
}

// hasPkgOption reports o or <pkg>::o.
func (p *plan) hasPkgOption(pkg, o string) bool {
	return p.hasOption(o) || p.hasOption(pkg+"::"+o)
}

var remoteRE = regexp.MustCompile(`^(https?|ftp)://`)

// loadPlan sources the recipe through the driver and reads its variables.
// TODO(build): take these from the recipe reader once it is available.
func (b *builder) loadPlan(ctx context.Context) (*plan, error) {
	if err := b.runDriver(ctx, false, "meta"); err != nil {
		return nil, fmt.Errorf("read APKBUILD: %w", err)
	}
	vars, err := readMeta(filepath.Join(b.d.controldir, "meta"))
	if err != nil {
		return nil, err
	}
	return newPlan(vars, b.d.startdir, b.opts.Arch)
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

func newPlan(vars map[string]string, startdir, carch string) (*plan, error) {
	p := &plan{
		vars:         vars,
		pkgname:      vars["pkgname"],
		pkgver:       vars["pkgver"],
		pkgrel:       vars["pkgrel"],
		arch:         fields(vars["arch"]),
		options:      fields(vars["options"]),
		depends:      fields(vars["depends"]),
		makedepends:  fields(vars["makedepends"]),
		checkdepends: fields(vars["checkdepends"]),
		install:      fields(vars["install"]),
	}
	if len(p.makedepends) == 0 {
		p.makedepends = append(fields(vars["makedepends_build"]), fields(vars["makedepends_host"])...)
	}
	for _, req := range []string{"pkgname", "pkgver", "pkgrel"} {
		if vars[req] == "" {
			return nil, fmt.Errorf("APKBUILD: %s is not set", req)
		}
	}
	if !namePattern.MatchString(p.pkgname) {
		return nil, fmt.Errorf("APKBUILD: invalid pkgname %q", p.pkgname)
	}
	p.version = p.pkgver + "-r" + p.pkgrel
	p.pkgarch = carch
	for _, a := range p.arch {
		if a == "noarch" {
			p.pkgarch = "noarch"
		}
	}
	seen := map[string]bool{p.pkgname: true}
	for _, s := range fields(vars["subpackages"]) {
		parts := strings.SplitN(s, ":", 3)
		sp := subpackage{Name: parts[0]}
		if len(parts) > 1 {
			sp.Func = parts[1]
		}
		if len(parts) > 2 {
			sp.Arch = parts[2]
		}
		if !namePattern.MatchString(sp.Name) || seen[sp.Name] {
			return nil, fmt.Errorf("APKBUILD: invalid or duplicate subpackage name %q", sp.Name)
		}
		seen[sp.Name] = true
		if sp.Func == "" {
			sp.Func = defaultSplitFunc(sp.Name)
		}
		switch sp.Arch {
		case "":
			sp.Arch = defaultSubpkgArch(sp.Name, p.pkgarch)
		case "all":
			sp.Arch = carch
		case "noarch", carch:
		default:
			return nil, fmt.Errorf("APKBUILD: subpackage %s: unsupported arch %q", sp.Name, sp.Arch)
		}
		p.subpackages = append(p.subpackages, sp)
	}
	sums := fields(vars["sha512sums"])
	for i, s := range fields(vars["source"]) {
		e := srcEntry{}
		name, rest, isRenamed := strings.Cut(s, "::")
		switch {
		case isRenamed && remoteRE.MatchString(rest):
			e.Name, e.URL = name, rest
		case remoteRE.MatchString(s):
			e.Name, e.URL = s[strings.LastIndex(s, "/")+1:], s
		default:
			e.Name, e.Local = filepath.Base(s), filepath.Join(startdir, s)
		}
		if 2*i+1 < len(sums) {
			e.Sha512 = sums[2*i]
			if sums[2*i+1] != e.Name {
				return nil, fmt.Errorf("APKBUILD: sha512sums: entry %d names %s, source is %s", i+1, sums[2*i+1], e.Name)
			}
		}
		p.sources = append(p.sources, e)
	}
	for _, t := range fields(vars["triggers"]) {
		file, dirs, ok := strings.Cut(t, "=")
		if !ok || !strings.HasSuffix(file, ".trigger") {
			return nil, fmt.Errorf("APKBUILD: triggers: %q is not <pkg>.trigger=<dirs>", t)
		}
		p.triggers = append(p.triggers, trigger{Pkg: strings.TrimSuffix(file, ".trigger"), File: file, Dirs: strings.Split(dirs, ":")})
	}
	return p, nil
}

// defaultSplitFunc is the split function of a subpackage without one (§3.3).
func defaultSplitFunc(name string) string {
	for _, c := range []string{"bash", "zsh", "fish"} {
		if strings.HasSuffix(name, "-"+c+"-completion") {
			return c + "comp"
		}
	}
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// defaultSubpkgArch is the arch of a subpackage without one (§3.3).
func defaultSubpkgArch(name, pkgarch string) string {
	for _, s := range []string{"-doc", "-openrc", "-lang", "sh-completion", "-pyc", "-nftrules", "-systemd", "-udev"} {
		if strings.HasSuffix(name, s) {
			return "noarch"
		}
	}
	return pkgarch
}

// archSupported applies the rules of §3.2.
func archSupported(arch []string, carch string) bool {
	ok := false
	for _, a := range arch {
		switch a {
		case "all", "noarch", carch:
			ok = true
		case "!" + carch:
			return false
		}
	}
	return ok
}
