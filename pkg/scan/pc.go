package scan

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// PCModule is one pkg-config file of a package.
type PCModule struct {
	// Path is the .pc file's path in the package.
	Path string
	// Name is the module name: the file name without ".pc".
	Name string
	// Version is the Version field, converted to apk syntax (see [PCVersion]).
	Version string
	// Provides lists extra Provides entries as "name" or "name=version".
	Provides []string
	// Requires lists Requires and Requires.private entries as apk
	// dependency items ("name", "name>=1.2").
	Requires []string
}

// maxPCSize bounds what is read of one .pc file.
const maxPCSize = 1 << 20

// readPCFile reads a .pc file of the tree; a symlink is followed only
// within the tree. It returns nil for a dangling link.
func readPCFile(root, rel string) (*PCModule, error) {
	p := rel
	for range 40 {
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			return nil, nil
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			if !fi.Mode().IsRegular() {
				return nil, nil
			}
			break
		}
		t, err := os.Readlink(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		p = normaliseTarget(p, t)
	}
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(p)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ParsePC(io.LimitReader(f, maxPCSize))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	m.Path = rel
	m.Name = strings.TrimSuffix(path.Base(rel), ".pc")
	return m, nil
}

// ParsePC parses pkg-config text: variable definitions (name=value) and
// keywords (Name: value), with ${var} expanded. Name and Path of the
// result are left empty.
func ParsePC(r io.Reader) (*PCModule, error) {
	vars := map[string]string{}
	fields := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxPCSize)
	var cont bytes.Buffer
	for sc.Scan() {
		line := sc.Text()
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		if cont.Len() > 0 {
			cont.WriteString(line)
			line = cont.String()
			cont.Reset()
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		i := strings.IndexAny(line, ":=")
		if i <= 0 {
			continue
		}
		key := strings.TrimSpace(line[:i])
		val := expandPC(strings.TrimSpace(line[i+1:]), vars)
		if line[i] == '=' {
			vars[key] = val
		} else {
			fields[strings.ToLower(key)] = val
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	m := &PCModule{Version: PCVersion(fields["version"])}
	for _, it := range pcList(fields["provides"]) {
		if it.op == "" {
			m.Provides = append(m.Provides, it.name)
		} else {
			m.Provides = append(m.Provides, it.name+"="+PCVersion(it.ver))
		}
	}
	for _, key := range []string{"requires", "requires.private"} {
		for _, it := range pcList(fields[key]) {
			if it.op == "" || it.op == "!=" {
				m.Requires = append(m.Requires, it.name)
			} else {
				m.Requires = append(m.Requires, it.name+it.op+PCVersion(it.ver))
			}
		}
	}
	return m, nil
}

func expandPC(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '{' {
			if j := strings.IndexByte(s[i:], '}'); j > 0 {
				b.WriteString(vars[s[i+2:i+j]])
				i += j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

type pcItem struct{ name, op, ver string }

// pcList splits a pkg-config dependency list ("a >= 1, b c<2").
func pcList(s string) []pcItem {
	var toks []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		// Split operators glued to names or versions: "c<2".
		for f != "" {
			i := strings.IndexAny(f, "<>=!")
			if i < 0 {
				toks = append(toks, f)
				break
			}
			if i > 0 {
				toks = append(toks, f[:i])
			}
			j := i + 1
			for j < len(f) && strings.IndexByte("<>=", f[j]) >= 0 {
				j++
			}
			toks = append(toks, f[i:j])
			f = f[j:]
		}
	}
	var out []pcItem
	for i := 0; i < len(toks); i++ {
		if isPCOp(toks[i]) {
			continue // stray operator
		}
		it := pcItem{name: toks[i]}
		if i+2 < len(toks) && isPCOp(toks[i+1]) {
			it.op, it.ver = toks[i+1], toks[i+2]
			i += 2
		}
		out = append(out, it)
	}
	return out
}

func isPCOp(s string) bool {
	switch s {
	case "=", "<", ">", "<=", ">=", "!=":
		return true
	}
	return false
}

// PCVersion converts a pkg-config version to apk syntax as abuild does:
// the first ".alpha" or "-alpha" (likewise beta, rc, pre) becomes
// "_alpha", a leading "v" is removed, and an empty version becomes "0".
// The result still has to be checked against the version grammar.
func PCVersion(v string) string {
	for _, s := range []string{"alpha", "beta", "rc", "pre"} {
		for _, sep := range []string{".", "-"} {
			if i := strings.Index(v, sep+s); i >= 0 {
				v = v[:i] + "_" + v[i+1:]
				break
			}
		}
	}
	v = strings.TrimPrefix(v, "v")
	if v == "" {
		return "0"
	}
	return v
}
