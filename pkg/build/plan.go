package build

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/source"
	"github.com/apkit-dev/apkit/pkg/version"
)

// subpackage is one entry of $subpackages.
type subpackage struct {
	Name, Func, Arch string
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
	sources                            []source.Item
	options                            []string
	depends, makedepends, checkdepends []string
	install                            []string
	triggers                           []trigger
	// warnings are the warnings of abuild's validate step.
	warnings []string
	// invalid holds the errors of abuild's validate step, if any.
	invalid    error
	maintainer string
	// functions lists the functions the recipe defines.
	functions map[string]bool
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

// loadPlan reads the recipe with the recipe reader.
func (b *builder) loadPlan(ctx context.Context) (*plan, error) {
	r, err := apkbuild.LoadContext(ctx, b.d.apkbuild, apkbuild.Options{Arch: b.opts.Arch, Env: b.recipeEnv()})
	if r != nil {
		b.pkgname = r.Pkgname
	}
	if err != nil {
		return nil, err
	}
	p, err := newPlan(r)
	if err != nil {
		return nil, err
	}
	// abuild -r runs validate (§12.1) after the arch check; its errors
	// stop the build.
	var errs []error
	for _, f := range apkbuild.Lint(r) {
		switch {
		case f.Severity == apkbuild.SeverityError:
			errs = append(errs, errors.New(f.String()))
		case validateWarnings[f.Rule]:
			p.warnings = append(p.warnings, f.Message)
		}
	}
	p.invalid = errors.Join(errs...)
	return p, nil
}

// validateWarnings are the lint rules that abuild's validate step warns
// about (§12.1 W); the other warnings are apkbuild-lint's style rules,
// which abuild -r does not check.
var validateWarnings = map[string]bool{
	"depends-dev-without-dev": true,
	"spdx-license":            true,
	"go-without-net":          true,
	"gxx-without-toolchain":   true,
	"unsupported-checksum":    true,
	"old-checksum":            true,
	"unknown-option":          true,
	"no-maintainer":           true,
	"unexpected-file":         true,
	"install-in-source":       true,
}

// recipeEnv is what of the phase environment the recipe reader needs.
func (b *builder) recipeEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range b.env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "JOBS", "MAKEFLAGS", "REPODEST", "SRCDEST", "CBUILD", "HOME", "SOURCE_DATE_EPOCH", "PACKAGER":
			env[k] = v
		}
	}
	for k, v := range b.opts.Env {
		env[k] = v
	}
	return env
}

func depStrings(ds []version.Dependency) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

func newPlan(r *apkbuild.Recipe) (*plan, error) {
	p := &plan{
		vars:         r.Vars,
		pkgname:      r.Pkgname,
		pkgver:       r.Pkgver,
		pkgrel:       r.Pkgrel,
		version:      r.Version(),
		arch:         r.Arch,
		pkgarch:      r.Pkgarch,
		options:      r.Options,
		depends:      depStrings(r.Depends),
		makedepends:  depStrings(r.Makedepends),
		checkdepends: depStrings(r.Checkdepends),
		install:      r.Install,
		maintainer:   r.Maintainer,
		functions:    map[string]bool{},
	}
	for name := range r.Functions {
		p.functions[name] = true
	}
	if len(p.makedepends) == 0 {
		p.makedepends = append(depStrings(r.MakedependsBuild), depStrings(r.MakedependsHost)...)
	}
	for _, s := range r.Subpackages {
		p.subpackages = append(p.subpackages, subpackage{Name: s.Name, Func: s.Func, Arch: s.Arch})
	}
	for i, s := range r.Sources {
		it := source.Item{Name: s.Name, URL: s.URL}
		if s.URL == "" {
			it.Local = filepath.Join(r.Dir, s.Local)
		}
		if i < len(r.Checksums) {
			c := r.Checksums[i]
			if c.Name != s.Name {
				return nil, fmt.Errorf("APKBUILD: %w: checksum %d is for %s, source %d is %s", ErrStaleChecksums, i+1, c.Name, i+1, s.Name)
			}
			switch c.Algo {
			case "sha512", "sha256":
				it.Sum = source.Checksum{Algo: source.Algo(c.Algo), Digest: c.Digest}
			}
		}
		p.sources = append(p.sources, it)
	}
	for _, t := range r.Triggers {
		p.triggers = append(p.triggers, trigger{Pkg: strings.TrimSuffix(t.Script, ".trigger"), File: t.Script, Dirs: t.Paths})
	}
	return p, nil
}
