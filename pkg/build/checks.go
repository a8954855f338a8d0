package build

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/apkit-dev/apkit/pkg/scan"
)

// TreeError lists the package tree checks a package failed (§12.2).
type TreeError struct {
	Package  string   // the package's name
	Problems []string // one message per failed check
}

// Error names the package and lists its problems.
func (e *TreeError) Error() string {
	return fmt.Sprintf("package %s: %s", e.Package, strings.Join(e.Problems, "; "))
}

// treeCheck holds what the checks of one package need.
type treeCheck struct {
	name string
	dir  string
	arch string
	has  func(opt string) bool
	tree *scan.Tree
	warn []string
	errs []string
}

func (c *treeCheck) warnf(format string, args ...any) {
	c.warn = append(c.warn, fmt.Sprintf(format, args...))
}

func (c *treeCheck) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *treeCheck) exists(rel string) bool {
	_, err := os.Lstat(filepath.Join(c.dir, filepath.FromSlash(rel)))
	return err == nil
}

func (c *treeCheck) nonEmpty(rel string) bool {
	p := filepath.Join(c.dir, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		return true
	}
	ents, _ := os.ReadDir(p)
	return len(ents) > 0
}

var manPage = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^usr/share/man/.*\.[0-8]$`) })

// removeLibtoolArchives deletes *.la files unless the libtool option is set
// (it runs before the tree is scanned).
func removeLibtoolArchives(dir string, keep bool) ([]string, error) {
	if keep {
		return nil, nil
	}
	var removed []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".la") {
			rel, _ := filepath.Rel(dir, p)
			removed = append(removed, filepath.ToSlash(rel))
			return os.Remove(p)
		}
		return nil
	})
	return removed, err
}

// run performs the package tree checks of §12.2.
func (c *treeCheck) run() {
	if !c.has("!fhs") {
		for _, d := range []string{"srv", "usr/local", "opt", "tmp", "var/tmp", "var/lock", "var/empty", "home", "sys", "proc", "mnt", "dev"} {
			if c.nonEmpty(d) {
				c.errorf("%s/ is not a place for packaged files (FHS)", d)
			}
		}
		if c.exists("usr/var") {
			c.errorf("usr/var/ is not a place for packaged files (FHS)")
		}
	}
	if !c.has("lib64") {
		for _, d := range []string{"lib64", "usr/lib64"} {
			if c.exists(d) {
				c.errorf("%s/ exists (set option lib64 to allow it)", d)
			}
		}
	}
	if !c.has("!usrmerge") {
		for _, d := range []string{"bin", "sbin", "lib"} {
			if c.exists(d) {
				c.warnf("%s/ at top level: packages should install into /usr (usr-merge)", d)
			}
		}
	}
	if c.exists("usr/lib/charset.alias") && !c.has("charset.alias") {
		c.errorf("usr/lib/charset.alias is packaged")
	}
	placement := []struct {
		prefix string
		ok     func(n string) bool
	}{
		{"etc/init.d/", func(n string) bool { return strings.HasSuffix(n, "-openrc") }},
		{"etc/conf.d/", func(n string) bool { return strings.HasSuffix(n, "-openrc") }},
		{"usr/lib/systemd/", func(n string) bool { return strings.HasSuffix(n, "-systemd") || n == "systemd" }},
		{"usr/lib/udev/", func(n string) bool { return strings.HasSuffix(n, "-udev") || n == "udev" }},
		{"usr/share/doc/", func(n string) bool { return strings.HasSuffix(n, "-doc") }},
		{"usr/share/man/", func(n string) bool { return strings.HasSuffix(n, "-doc") }},
		{"usr/share/devhelp/", func(n string) bool { return strings.HasSuffix(n, "-devhelp") }},
		{"usr/share/locale/", func(n string) bool { return strings.HasSuffix(n, "-lang") }},
		{"usr/share/bash-completion/completions/", func(n string) bool { return strings.HasSuffix(n, "-bash-completion") }},
		{"usr/share/zsh/site-functions/", func(n string) bool { return strings.HasSuffix(n, "-zsh-completion") }},
		{"usr/share/fish/vendor_completions.d/", func(n string) bool { return strings.HasSuffix(n, "-fish-completion") }},
	}
	warned := map[string]bool{}
	archFiles := 0
	var docSize int64
	for _, rel := range c.tree.Entries {
		p := filepath.Join(c.dir, filepath.FromSlash(rel))
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		mode := fi.Mode()
		if strings.ContainsAny(rel, "\n") {
			c.errorf("file name with a newline: %q", rel)
		}
		for _, pl := range placement {
			if strings.HasPrefix(rel+"/", pl.prefix) && rel+"/" != pl.prefix && !pl.ok(c.name) && !warned[pl.prefix] {
				warned[pl.prefix] = true
				c.warnf("%s belongs in a subpackage, not in %s", strings.TrimSuffix(pl.prefix, "/"), c.name)
			}
		}
		if strings.HasPrefix(rel, "usr/share/fish/completions/") && !warned["fish"] {
			warned["fish"] = true
			c.warnf("usr/share/fish/completions is for fish's own completions; use vendor_completions.d")
		}
		if strings.Contains(rel, "/__pycache__") && strings.HasPrefix(rel, "usr/lib/python") && !strings.HasSuffix(c.name, "-pyc") && !warned["pyc"] {
			warned["pyc"] = true
			c.warnf("__pycache__ belongs in a -pyc subpackage")
		}
		if mode.IsDir() {
			if mode.Perm() == 0o777 {
				c.warnf("world-writable directory %s", rel)
			}
			continue
		}
		if mode.IsRegular() {
			if (strings.HasPrefix(rel, "etc/init.d/") || strings.HasPrefix(rel, "etc/user/init.d/")) && mode.Perm()&0o111 == 0 {
				c.errorf("init script %s is not executable", rel)
			}
			if (strings.HasPrefix(rel, "etc/conf.d/") || strings.HasPrefix(rel, "etc/user/conf.d/")) && mode.Perm()&0o111 != 0 {
				c.warnf("configuration file %s is executable", rel)
			}
			if manPage().MatchString(rel) {
				c.errorf("man page %s is not compressed", rel)
			}
			if strings.HasSuffix(rel, ".a") || isLuaBytecode(p) {
				archFiles++
			}
			docSize += fi.Size()
			suid := mode&(os.ModeSetuid|os.ModeSetgid) != 0
			if suid && mode.Perm()&0o001 != 0 && !c.has("suid") {
				c.errorf("%s is setuid/setgid and executable by others (set option suid to allow it)", rel)
			}
			if hasCapability(p) {
				switch {
				case !c.has("setcap"):
					c.errorf("%s has file capabilities (set option setcap to allow it)", rel)
				case mode.Perm()&0o001 != 0:
					c.warnf("%s has file capabilities and is executable by others", rel)
				}
			}
			if suid {
				for _, e := range c.tree.ELF {
					if e.Path == rel && e.Type == elf.ET_EXEC {
						c.warnf("%s is setuid/setgid and not position independent", rel)
					}
				}
			}
		}
	}
	usrLibRpath := false
	for _, e := range c.tree.ELF {
		archFiles++
		if e.TextRel && !c.has("textrels") {
			c.errorf("%s has text relocations (set option textrels to allow them)", e.Path)
		}
		for _, r := range e.Rpaths {
			if strings.HasPrefix(r, "/home/") {
				c.errorf("%s has an rpath under /home: %s", e.Path, r)
			}
			// abuild's prepare_trace_rpaths: $ORIGIN expanded, not normalised.
			origin := "/" + path.Dir(e.Path)
			r = strings.ReplaceAll(strings.ReplaceAll(r, "${ORIGIN}", origin), "$ORIGIN", origin)
			if r == "/usr/lib" {
				usrLibRpath = true
			}
		}
	}
	if usrLibRpath && c.arch != "noarch" && !c.has("!tracedeps") {
		c.warnf("redundant /usr/lib in rpath found")
	}
	if !c.has("!archcheck") {
		switch {
		case c.arch == "noarch" && archFiles > 0:
			c.errorf("noarch package contains architecture-specific files (ELF, static libraries or Lua bytecode)")
		case c.arch != "noarch" && archFiles == 0 && !strings.HasSuffix(c.name, "-dev") && !strings.HasSuffix(c.name, "-static") && len(c.tree.Entries) > 0:
			c.warnf("no architecture-specific files: should the package be noarch?")
		}
	}
	if strings.HasSuffix(c.name, "-doc") && docSize > 2<<20 && !c.has("bigdocs") {
		c.warnf("documentation is %d bytes, more than 2 MiB", docSize)
	}
}

func isLuaBytecode(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	n, _ := io.ReadFull(f, b[:])
	return n >= 3 && (bytes.HasPrefix(b[:n], []byte("\x1bLua")) || bytes.HasPrefix(b[:n], []byte("\x1bLJ")))
}

func hasCapability(p string) bool {
	n, err := syscall.Getxattr(p, "security.capability", nil)
	return err == nil && n > 0
}

// removeEmptyDirs removes usr/lib, usr/bin, usr/share, usr, etc and lib
// from the main package when they are empty (§6.12), unless keepdirs.
func removeEmptyDirs(dir string) {
	for _, d := range []string{"usr/lib", "usr/bin", "usr/share", "usr", "etc", "lib"} {
		_ = os.Remove(filepath.Join(dir, filepath.FromSlash(d))) // fails unless empty
	}
}
