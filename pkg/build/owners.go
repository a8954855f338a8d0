package build

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/sandbox"
)

// ownerScript is apkit's chown, chgrp and install for package() and the
// split functions (see the script's comment).
//
//go:embed owner.sh
var ownerScript string

// Ids of the users and groups of pkgusers and pkggroups: a name the build
// root has already keeps the root's entry; the others get the first free
// id from 101 (groups) and from 100 (users), in the order the recipe lists
// them, as abuild's adduser -S and addgroup -S do. On an Alpine root
// (where gid 100 is users') that is also what abuild rootbld gives, in the
// order its awk happens to take them. A user's primary group is the group
// of the same name, else nobody's. The packages record these users and
// groups by name with id 0 (abuild's tar owner and group maps), so the
// ids matter only inside the build.
const (
	firstPkgUID = 100
	firstPkgGID = 101
	nobodyID    = 65534
)

// Where in the control directory the owner commands and their ledger are.
const (
	ownerBinDir  = "bin"
	ownersLedger = "owners"
)

// accounts is the user and group database of a build: the build root's
// /etc/passwd and /etc/group with pkgusers and pkggroups added.
type accounts struct {
	passwd, group string // the files written for the sandbox
	uid, gid      map[string]int
	userOf        map[int]string // the first name of each id
	groupOf       map[int]string
	// own are pkgusers and pkggroups and root: abuild's owner and group
	// maps record them with id 0.
	ownUser, ownGroup map[string]bool
}

// readIDs reads name:x:id lines of a passwd or group file; a missing file
// is empty. It returns the lines as they are, and each name's id in order.
func readIDs(path string) (lines []string, names []string, ids []int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		parts := strings.Split(line, ":")
		if len(parts) < 3 || parts[0] == "" {
			continue
		}
		id, err := strconv.Atoi(parts[2])
		if err != nil {
			continue
		}
		names = append(names, parts[0])
		ids = append(ids, id)
	}
	return lines, names, ids, sc.Err()
}

// newAccounts writes dir/passwd and dir/group from the build root's files
// with pkgusers and pkggroups added.
func newAccounts(root, dir string, pkgusers, pkggroups []string) (*accounts, error) {
	a := &accounts{
		passwd: filepath.Join(dir, "passwd"), group: filepath.Join(dir, "group"),
		uid: map[string]int{}, gid: map[string]int{}, userOf: map[int]string{}, groupOf: map[int]string{},
		ownUser: map[string]bool{"root": true}, ownGroup: map[string]bool{"root": true},
	}
	for _, list := range [][]string{pkgusers, pkggroups} {
		for _, n := range list {
			if strings.ContainsAny(n, ":/") || n == "" {
				return nil, fmt.Errorf("pkgusers/pkggroups: %q is not a user or group name", n)
			}
		}
	}
	glines, gnames, gids, err := readIDs(filepath.Join(root, "etc", "group"))
	if err != nil {
		return nil, fmt.Errorf("build root's group file: %w", err)
	}
	for i, n := range gnames {
		a.addGroup(n, gids[i])
	}
	for _, g := range pkggroups {
		a.ownGroup[g] = true
		if _, ok := a.gid[g]; ok {
			continue
		}
		id := freeID(a.groupOf, firstPkgGID)
		a.addGroup(g, id)
		glines = append(glines, fmt.Sprintf("%s:x:%d:", g, id))
	}
	plines, pnames, uids, err := readIDs(filepath.Join(root, "etc", "passwd"))
	if err != nil {
		return nil, fmt.Errorf("build root's passwd file: %w", err)
	}
	for i, n := range pnames {
		a.addUser(n, uids[i])
	}
	for _, u := range pkgusers {
		a.ownUser[u] = true
		if _, ok := a.uid[u]; ok {
			continue
		}
		gid, ok := a.gid[u]
		if !ok {
			if gid, ok = a.gid["nobody"]; !ok {
				gid = nobodyID
			}
		}
		id := freeID(a.userOf, firstPkgUID)
		a.addUser(u, id)
		plines = append(plines, fmt.Sprintf("%s:x:%d:%d:%s:/dev/null:/sbin/nologin", u, id, gid, u))
	}
	for path, lines := range map[string][]string{a.passwd: plines, a.group: glines} {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// freeID is the first id from first that used does not have.
func freeID(used map[int]string, first int) int {
	id := first
	for {
		if _, ok := used[id]; !ok {
			return id
		}
		id++
	}
}

func (a *accounts) addUser(name string, id int) {
	if _, ok := a.uid[name]; !ok {
		a.uid[name] = id
	}
	if _, ok := a.userOf[id]; !ok {
		a.userOf[id] = name
	}
}

func (a *accounts) addGroup(name string, id int) {
	if _, ok := a.gid[name]; !ok {
		a.gid[name] = id
	}
	if _, ok := a.groupOf[id]; !ok {
		a.groupOf[id] = name
	}
}

// owner returns the name and id abuild's tar records for a user (or
// group) given by name or number: the name, with id 0 for root and the
// recipe's own users (its owner map), else the id of the name.
func owner(spec string, ids map[string]int, names map[int]string, own map[string]bool) (string, int) {
	if n, err := strconv.Atoi(spec); err == nil {
		name, ok := names[n]
		if !ok {
			return "", n
		}
		spec = name
	}
	if own[spec] {
		return spec, 0
	}
	return spec, ids[spec]
}

// fileID identifies a file across renames within the package directories.
type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

// ownership is what the recipe's chown, chgrp and install -o/-g asked for
// a file ("" leaves the user or group root).
type ownership struct{ user, group string }

// ownerEnv returns the phase environment of package() and the split
// functions, with apkit's chown, chgrp and install first in PATH, writing
// them when needed.
func (b *builder) ownerEnv() ([]string, error) {
	bin := filepath.Join(b.d.controldir, ownerBinDir)
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	for _, name := range []string{"chown", "chgrp", "install"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+ownerScript), 0o755); err != nil {
			return nil, err
		}
	}
	env := make([]string, 0, len(b.env)+4)
	for _, kv := range b.env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv = "PATH=" + bin + ":" + p
		}
		env = append(env, kv)
	}
	return append(env,
		"APKIT_OWNER_BIN="+bin,
		"APKIT_OWNERS="+filepath.Join(b.d.controldir, ownersLedger),
		"APKIT_PASSWD="+b.accts.passwd,
		"APKIT_GROUP="+b.accts.group,
	), nil
}

// applyOwners reads what the last package() or split function asked for
// from the ledger, where each change is recorded by device and inode when
// it was made (so that it follows a file that a split function moves to
// another package), then removes the ledger. As fakeroot's, the record is
// by inode: a file that replaces a chowned one under the same inode
// number inherits its record.
func (b *builder) applyOwners() error {
	path := filepath.Join(b.d.controldir, ownersLedger)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if b.owned == nil {
		b.owned = map[fileID]ownership{}
	}
	for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Split(line, "\t")
		var id fileID
		if len(f) != 3 {
			return fmt.Errorf("owner record %d: %q is not DEVICE INODE<TAB>USER<TAB>GROUP", n+1, line)
		}
		if _, err := fmt.Sscanf(f[0], "%d %d", &id.dev, &id.ino); err != nil {
			return fmt.Errorf("owner record %d: %q: %w", n+1, f[0], err)
		}
		o := b.owned[id]
		if f[1] != "" {
			o.user = f[1]
		}
		if f[2] != "" {
			o.group = f[2]
		}
		b.owned[id] = o
	}
	return os.Remove(path)
}

// ownerFunc returns the owner of each entry of the package in dir, for
// apk.Write: root, or what the recipe asked for, as abuild records it.
func (b *builder) ownerFunc(dir string) func(string, int, int) (apk.Owner, error) {
	if len(b.owned) == 0 {
		return nil
	}
	return func(rel string, _, _ int) (apk.Owner, error) {
		o := apk.RootOwner
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return o, err
		}
		id, ok := idOf(fi)
		if !ok {
			return o, nil
		}
		rec, ok := b.owned[id]
		if !ok {
			return o, nil
		}
		a := b.accts
		if rec.user != "" {
			o.Uname, o.Uid = owner(rec.user, a.uid, a.userOf, a.ownUser)
		}
		if rec.group != "" {
			o.Gname, o.Gid = owner(rec.group, a.gid, a.groupOf, a.ownGroup)
		}
		return o, nil
	}
}

// sandboxFiles are the build's /etc/passwd and /etc/group, bound over the
// build root's.
func (b *builder) sandboxFiles() []sandbox.File {
	if b.accts == nil {
		return nil
	}
	root := b.opts.RootFS
	if root == "" {
		root = "/"
	}
	var out []sandbox.File
	for _, f := range []sandbox.File{{Host: b.accts.passwd, Path: "/etc/passwd"}, {Host: b.accts.group, Path: "/etc/group"}} {
		// A bind needs a file to mount over.
		if fi, err := os.Stat(filepath.Join(root, f.Path)); err == nil && fi.Mode().IsRegular() {
			out = append(out, f)
		}
	}
	return out
}
