package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Owner is the owner and mode a path gets in the layer, whatever the disk
// says.
type Owner struct {
	UID, GID int
	// Mode holds the permission bits (07777).
	Mode uint32
}

// User is an account [Customize] adds to /etc/passwd, as apko's
// accounts.users.
type User struct {
	Name     string
	UID, GID int
	// Shell is the login shell ("" means /bin/sh); Home the home
	// directory ("" means /home/NAME), made when missing.
	Shell, Home string
}

// Group is a group [Customize] adds to /etc/group, as apko's
// accounts.groups.
type Group struct {
	Name    string
	GID     int
	Members []string
}

// Path is a path [Customize] makes or changes, as apko's paths.
type Path struct {
	// Path is the path in the image.
	Path string
	// Type is directory, empty-file, symlink, hardlink or permissions.
	Type string
	// Source is the target of a symlink or hardlink.
	Source   string
	UID, GID int
	// Mode holds the permission bits; 0 means 0755 for a directory, 0644
	// for a file, and no change for permissions.
	Mode uint32
	// Recursive applies permissions to everything under Path too.
	Recursive bool
}

// Customization is what [Customize] adds to a root.
type Customization struct {
	Groups []Group
	Users  []User
	Paths  []Path
}

// Customize writes the accounts and paths of c into root, which it
// changes: use it on a root made for the image. It returns the owners and
// modes the layer must give the paths it made, for [Options.Owners].
func Customize(root string, c *Customization) (map[string]Owner, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("customize: %w", err)
	}
	defer r.Close()
	owners := map[string]Owner{}
	var groupLines, userLines []string
	for _, g := range c.Groups {
		if g.Name == "" || strings.ContainsAny(g.Name, ":\n") {
			return nil, fmt.Errorf("customize: group %q: bad name", g.Name)
		}
		groupLines = append(groupLines, fmt.Sprintf("%s:x:%d:%s", g.Name, g.GID, strings.Join(g.Members, ",")))
	}
	for _, u := range c.Users {
		if u.Name == "" || strings.ContainsAny(u.Name+u.Shell+u.Home, ":\n") {
			return nil, fmt.Errorf("customize: user %q: bad name, shell or home", u.Name)
		}
		if u.Shell == "" {
			u.Shell = "/bin/sh"
		}
		if u.Home == "" {
			u.Home = "/home/" + u.Name
		}
		userLines = append(userLines, fmt.Sprintf("%s:x:%d:%d:Linux User,,,:%s:%s", u.Name, u.UID, u.GID, u.Home, u.Shell))
		home, err := clean(u.Home)
		if err != nil {
			return nil, fmt.Errorf("customize: user %s: %w", u.Name, err)
		}
		if err := r.MkdirAll(home, 0o755); err != nil {
			return nil, fmt.Errorf("customize: user %s: %w", u.Name, err)
		}
		owners[home] = Owner{UID: u.UID, GID: u.GID, Mode: 0o755}
	}
	if err := appendLines(r, "etc/group", groupLines); err != nil {
		return nil, err
	}
	if err := appendLines(r, "etc/passwd", userLines); err != nil {
		return nil, err
	}
	for _, p := range c.Paths {
		if err := customizePath(r, p, owners); err != nil {
			return nil, fmt.Errorf("customize: path %s: %w", p.Path, err)
		}
	}
	return owners, nil
}

// clean makes an image path relative to the root; it refuses paths that
// leave it.
func clean(p string) (string, error) {
	c := strings.TrimPrefix(path.Clean("/"+p), "/")
	if c == "" || strings.HasPrefix(path.Clean(p), "..") {
		return "", fmt.Errorf("%q: not a path in the image", p)
	}
	return c, nil
}

func customizePath(r *os.Root, p Path, owners map[string]Owner) error {
	rel, err := clean(p.Path)
	if err != nil {
		return err
	}
	mode := p.Mode & 0o7777
	if dir := path.Dir(rel); dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch p.Type {
	case "directory":
		if mode == 0 {
			mode = 0o755
		}
		if err := r.MkdirAll(rel, 0o755); err != nil {
			return err
		}
	case "empty-file":
		if mode == 0 {
			mode = 0o644
		}
		f, err := r.OpenFile(rel, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	case "symlink":
		if p.Source == "" {
			return errors.New("symlink: no source")
		}
		if err := r.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := r.Symlink(p.Source, rel); err != nil {
			return err
		}
		owners[rel] = Owner{UID: p.UID, GID: p.GID, Mode: 0o777}
		return nil
	case "hardlink":
		src, err := clean(p.Source)
		if err != nil {
			return fmt.Errorf("hardlink: %w", err)
		}
		if err := r.Link(src, rel); err != nil {
			return err
		}
		return nil
	case "permissions":
		return setPermissions(r, rel, p, owners)
	default:
		return fmt.Errorf("type %q: want directory, empty-file, symlink, hardlink or permissions", p.Type)
	}
	owners[rel] = Owner{UID: p.UID, GID: p.GID, Mode: mode}
	return nil
}

// setPermissions gives rel (and, recursively, what is under it) the
// path's owner and, when set, mode.
func setPermissions(r *os.Root, rel string, p Path, owners map[string]Owner) error {
	set := func(name string, d fs.FileInfo) {
		mode := p.Mode & 0o7777
		if mode == 0 {
			mode = uint32(d.Mode().Perm())
		}
		if d.Mode()&fs.ModeSymlink != 0 {
			mode = 0o777
		}
		owners[name] = Owner{UID: p.UID, GID: p.GID, Mode: mode}
	}
	fi, err := r.Lstat(rel)
	if err != nil {
		return err
	}
	if !p.Recursive || !fi.IsDir() {
		set(rel, fi)
		return nil
	}
	return fs.WalkDir(r.FS(), rel, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		set(filepath.ToSlash(name), info)
		return nil
	})
}

// appendLines appends lines to the file name in r, made when missing.
func appendLines(r *os.Root, name string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	if err := r.MkdirAll(path.Dir(name), 0o755); err != nil {
		return fmt.Errorf("customize: %w", err)
	}
	data, err := r.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("customize: %w", err)
	}
	var b strings.Builder
	b.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		b.WriteByte('\n')
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := r.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("customize: %w", err)
	}
	return nil
}
