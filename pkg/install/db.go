package install

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
)

// The files of apk's database, relative to the root.
const (
	InstalledFile    = "lib/apk/db/installed"
	ScriptsFile      = "lib/apk/db/scripts.tar"
	TriggersFile     = "lib/apk/db/triggers"
	LockFile         = "lib/apk/db/lock"
	WorldFile        = "etc/apk/world"
	RepositoriesFile = "etc/apk/repositories"
	ArchFile         = "etc/apk/arch"
	keysDir          = "etc/apk/keys"
)

// maxDatabaseSize bounds the size of each database file read back.
const maxDatabaseSize = 512 << 20

// ACL is the ownership and permissions apk records for an installed file or
// directory.
type ACL struct {
	UID, GID int
	// Mode holds the permission bits (07777).
	Mode uint32
	// XattrSum is the identity of the entry's extended attributes as apk
	// writes it ("" when none are recorded).
	XattrSum string
}

// The ACLs apk leaves out of the database: root-owned 0755 directories and
// 0644 files.
var (
	DefaultDirACL  = ACL{Mode: 0o755}
	DefaultFileACL = ACL{Mode: 0o644}
)

// Dir is a directory an installed package owns, with the files it installed
// there.
type Dir struct {
	// Name is the directory's path relative to the root, without slashes
	// at either end ("" for the root itself).
	Name  string
	ACL   ACL
	Files []DBFile
}

// DBFile is one installed file (or symbolic link, or device node) in a [Dir].
type DBFile struct {
	// Name is the file's base name.
	Name string
	ACL  ACL
	// Checksum is the Z: identity of the content ("Q1" and the base64
	// SHA-1 of a file's content or a link's target); "" when none.
	Checksum string
}

// Installed is one package in a root's database: its index record plus what
// apk keeps about its installation. The zero value is empty.
type Installed struct {
	// Record holds the package's fields, written in apk's order.
	Record *index.Record
	// Replaces (r:) and ReplacesPriority (q:) come from the package's
	// .PKGINFO.
	Replaces         []string
	ReplacesPriority int64
	// RepoTag is the repository tag (s:) the package was pinned to.
	RepoTag string
	// Broken lists apk's broken flags (f:): 'f' files, 's' script,
	// 'x' xattrs.
	Broken string
	// Dirs are the directories the package owns, in the order it installed
	// them, each with its files.
	Dirs []Dir
	// Scripts are the package's scripts kept in scripts.tar, named as in
	// the package (".post-install", ".trigger", ...).
	Scripts []apk.Script
	// Triggers are the directory globs of the package's trigger script, as
	// kept in the triggers file.
	Triggers []string
}

// Database is apk's installed database in a root.
type Database struct {
	// Packages are the installed packages. Read returns them in the order
	// of the installed file; written, they are sorted as apk sorts them.
	Packages []*Installed
	// World is the content of /etc/apk/world, one dependency per item.
	World []string
}

// Find returns the installed package called name, or nil.
func (db *Database) Find(name string) *Installed {
	for _, p := range db.Packages {
		if p.Record.Name == name {
			return p
		}
	}
	return nil
}

// WriteInstalled writes the installed file of pkgs as apk 2 does: each
// package's index fields (C P V A S I T U L o m t c k D p i), then r:, q:,
// s: and f:, then each owned directory (F:, and M: unless root-owned 0755)
// with its files (R:, a: unless root-owned 0644, Z:), and an empty line.
// Packages are written sorted by name (ASCII case-insensitively) and
// version, as apk sorts them.
func WriteInstalled(w io.Writer, pkgs []*Installed) error {
	sorted := slices.Clone(pkgs)
	slices.SortStableFunc(sorted, func(a, b *Installed) int {
		switch {
		case index.Less(a.Record, b.Record):
			return -1
		case index.Less(b.Record, a.Record):
			return 1
		}
		return 0
	})
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	for _, p := range sorted {
		rec := p.Record.Clone()
		rec.Extra = nil
		var err error
		if b, err = rec.AppendText(b[:0]); err != nil {
			return fmt.Errorf("installed %s: %w", p.Record.Name, err)
		}
		b = b[:len(b)-1] // the record goes on: no empty line yet
		if len(p.Replaces) > 0 {
			b = append(b, "r:"...)
			b = append(b, strings.Join(p.Replaces, " ")...)
			b = append(b, '\n')
		}
		if p.ReplacesPriority != 0 {
			b = strconv.AppendInt(append(b, "q:"...), p.ReplacesPriority, 10)
			b = append(b, '\n')
		}
		if p.RepoTag != "" {
			b = append(append(append(b, "s:"...), p.RepoTag...), '\n')
		}
		if flags := brokenFlags(p.Broken); flags != "" {
			b = append(append(append(b, "f:"...), flags...), '\n')
		}
		for _, d := range p.Dirs {
			b = append(append(append(b, "F:"...), d.Name...), '\n')
			if d.ACL != DefaultDirACL {
				b = appendACL(b, 'M', d.ACL)
			}
			for _, f := range d.Files {
				b = append(append(append(b, "R:"...), f.Name...), '\n')
				if f.ACL != DefaultFileACL {
					b = appendACL(b, 'a', f.ACL)
				}
				if f.Checksum != "" {
					b = append(append(append(b, "Z:"...), f.Checksum...), '\n')
				}
			}
		}
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// brokenFlags returns the letters of s that apk writes in f:, in apk's
// order.
func brokenFlags(s string) string {
	var b []byte
	for _, c := range []byte("fsxS") {
		if strings.IndexByte(s, c) >= 0 {
			b = append(b, c)
		}
	}
	return string(b)
}

func appendACL(b []byte, field byte, a ACL) []byte {
	b = append(b, field, ':')
	b = strconv.AppendInt(b, int64(a.UID), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(a.GID), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(a.Mode), 8)
	if a.XattrSum != "" {
		b = append(append(b, ':'), a.XattrSum...)
	}
	return append(b, '\n')
}

func parseACL(v string) (ACL, error) {
	parts := strings.SplitN(v, ":", 4)
	if len(parts) < 3 {
		return ACL{}, fmt.Errorf("bad owner and mode %q", v)
	}
	uid, err1 := strconv.ParseUint(parts[0], 10, 31)
	gid, err2 := strconv.ParseUint(parts[1], 10, 31)
	mode, err3 := strconv.ParseUint(parts[2], 8, 32)
	if err := errors.Join(err1, err2, err3); err != nil || mode > 0o7777 {
		return ACL{}, fmt.Errorf("bad owner and mode %q", v)
	}
	a := ACL{UID: int(uid), GID: int(gid), Mode: uint32(mode)}
	if len(parts) == 4 {
		a.XattrSum = parts[3]
	}
	return a, nil
}

// ReadInstalled parses an installed file as apk writes it (see
// [WriteInstalled]). Lines it does not know are ignored, as apk ignores
// them; an R: before any F:, or a malformed a: or M:, is an error naming
// the package.
func ReadInstalled(r io.Reader) ([]*Installed, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDatabaseSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDatabaseSize {
		return nil, fmt.Errorf("installed database larger than %d bytes", maxDatabaseSize)
	}
	recs, err := index.ParseText(data)
	if err != nil {
		return nil, fmt.Errorf("installed database: %w", err)
	}
	pkgs := make([]*Installed, 0, len(recs))
	for _, rec := range recs {
		p := &Installed{Record: rec}
		var dir *Dir
		var file *DBFile
		for _, f := range rec.Extra {
			switch f.Key {
			case 'r':
				p.Replaces = strings.Fields(f.Value)
			case 'q':
				if p.ReplacesPriority, err = strconv.ParseInt(f.Value, 10, 64); err != nil {
					return nil, fmt.Errorf("installed %s: q:%s: %w", rec.Name, f.Value, err)
				}
			case 's':
				p.RepoTag = f.Value
			case 'f':
				p.Broken = f.Value
			case 'F':
				p.Dirs = append(p.Dirs, Dir{Name: f.Value, ACL: DefaultDirACL})
				dir, file = &p.Dirs[len(p.Dirs)-1], nil
			case 'M':
				if dir == nil {
					return nil, fmt.Errorf("installed %s: M line before any F line", rec.Name)
				}
				if dir.ACL, err = parseACL(f.Value); err != nil {
					return nil, fmt.Errorf("installed %s: %s: %w", rec.Name, dir.Name, err)
				}
			case 'R':
				if dir == nil {
					return nil, fmt.Errorf("installed %s: R line %q before any F line", rec.Name, f.Value)
				}
				dir.Files = append(dir.Files, DBFile{Name: f.Value, ACL: DefaultFileACL})
				file = &dir.Files[len(dir.Files)-1]
			case 'a':
				if file == nil {
					return nil, fmt.Errorf("installed %s: a line before any R line", rec.Name)
				}
				if file.ACL, err = parseACL(f.Value); err != nil {
					return nil, fmt.Errorf("installed %s: %s: %w", rec.Name, file.Name, err)
				}
			case 'Z':
				if file == nil {
					return nil, fmt.Errorf("installed %s: Z line before any R line", rec.Name)
				}
				file.Checksum = f.Value
			}
		}
		rec.Extra = nil
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// scriptTypes are the scripts apk keeps, by the names of their control
// entries without the dot.
var scriptTypes = []string{"pre-install", "post-install", "pre-deinstall",
	"post-deinstall", "pre-upgrade", "post-upgrade", "trigger"}

func isScript(name string) bool {
	return slices.Contains(scriptTypes, strings.TrimPrefix(name, "."))
}

// WriteScripts writes scripts.tar as apk does: for each package in order,
// each kept script as a root-owned 0755 file named
// "<name>-<version>.<C: identity>.<script>", dated at the build time, in
// apk's own header layout (GNU magic, 12-digit size and time), so that the
// file is the one apk would write.
func WriteScripts(w io.Writer, pkgs []*Installed) error {
	bw := bufio.NewWriter(w)
	var hdr [512]byte
	for _, p := range pkgs {
		for _, typ := range scriptTypes {
			i := slices.IndexFunc(p.Scripts, func(s apk.Script) bool { return s.Name == "."+typ })
			if i < 0 {
				continue
			}
			data := p.Scripts[i].Data
			name := p.Record.Name + "-" + p.Record.Version + "." + p.Record.Checksum + "." + typ
			if len(name) >= 100 {
				return fmt.Errorf("scripts %s: name too long for scripts.tar", name)
			}
			hdr = [512]byte{}
			copy(hdr[0:100], name)
			putOctal(hdr[100:108], 0o755, true)
			putOctal(hdr[108:116], 0, true)
			putOctal(hdr[116:124], 0, true)
			putOctal(hdr[124:136], uint64(len(data)), false)
			putOctal(hdr[136:148], uint64(max(p.Record.BuildTime, 0)), false)
			hdr[156] = '0'
			copy(hdr[257:265], "ustar  \x00")
			copy(hdr[265:297], "root")
			copy(hdr[297:329], "root")
			for k := 148; k < 156; k++ {
				hdr[k] = ' '
			}
			sum := 0
			for _, c := range hdr {
				sum += int(c)
			}
			putOctal(hdr[148:155], uint64(sum), true)
			bw.Write(hdr[:])
			bw.Write(data)
			if pad := len(data) % 512; pad != 0 {
				bw.Write(make([]byte, 512-pad))
			}
		}
	}
	bw.Write(make([]byte, 1024))
	return bw.Flush()
}

// putOctal writes v in octal digits filling b, the last byte a NUL when
// nul is set, as apk's tar writer does.
func putOctal(b []byte, v uint64, nul bool) {
	i := len(b) - 1
	if nul {
		b[i] = 0
		i--
	}
	for ; i >= 0; i-- {
		b[i] = '0' + byte(v%8)
		v /= 8
	}
}

// readScripts attaches the scripts in scripts.tar to the packages of pkgs
// whose identity they name, as apk does; others are ignored.
func readScripts(r io.Reader, pkgs []*Installed) error {
	byID := make(map[string]*Installed, len(pkgs))
	for _, p := range pkgs {
		byID[p.Record.Checksum] = p
	}
	tr := tar.NewReader(r)
	total := int64(0)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("scripts: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		i := strings.LastIndexByte(h.Name, '.')
		if i <= 0 || !isScript(h.Name[i+1:]) {
			continue
		}
		j := strings.LastIndexByte(h.Name[:i], '.')
		if j < 0 {
			continue
		}
		p := byID[h.Name[j+1:i]]
		if p == nil {
			continue
		}
		if total += h.Size; total > maxDatabaseSize {
			return fmt.Errorf("scripts: larger than %d bytes", maxDatabaseSize)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("scripts: %s: %w", h.Name, err)
		}
		p.Scripts = append(p.Scripts, apk.Script{Name: "." + h.Name[i+1:], Mode: 0o755, Data: data})
	}
}

// WriteTriggers writes the triggers file as apk does: one line per package
// with triggers, its C: identity and its globs separated by spaces.
func WriteTriggers(w io.Writer, pkgs []*Installed) error {
	var b bytes.Buffer
	for _, p := range pkgs {
		if len(p.Triggers) == 0 {
			continue
		}
		b.WriteString(p.Record.Checksum)
		for _, t := range p.Triggers {
			b.WriteByte(' ')
			b.WriteString(t)
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

func readTriggers(data []byte, pkgs []*Installed) {
	byID := make(map[string]*Installed, len(pkgs))
	for _, p := range pkgs {
		byID[p.Record.Checksum] = p
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if p := byID[f[0]]; p != nil {
			p.Triggers = append(p.Triggers, f[1:]...)
		}
	}
}

// fileChecksum turns a checksum record of pkg/apk (lowercase hex) into the
// Z: form apk writes: "Q1" + base64 for SHA-1, hex for MD5.
func fileChecksum(h string) string {
	if len(h) != 40 {
		return h
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return ""
	}
	return "Q1" + base64.StdEncoding.EncodeToString(b)
}
