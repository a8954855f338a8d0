package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/apkit-dev/apkit/pkg/image"
)

// imageFile is an image file: the keys of apko's configuration that
// apkit image understands, with apko's names and meanings.
type imageFile struct {
	Contents *struct {
		Repositories []string `yaml:"repositories"`
		Keyring      []string `yaml:"keyring"`
		Packages     []string `yaml:"packages"`
	} `yaml:"contents"`
	Entrypoint struct {
		Command string `yaml:"command"`
		Type    string `yaml:"type"`
	} `yaml:"entrypoint"`
	Cmd         string            `yaml:"cmd"`
	StopSignal  string            `yaml:"stop-signal"`
	WorkDir     string            `yaml:"work-dir"`
	Environment map[string]string `yaml:"environment"`
	Accounts    struct {
		RunAs string `yaml:"run-as"`
		Users []struct {
			Username string `yaml:"username"`
			UID      int    `yaml:"uid"`
			GID      int    `yaml:"gid"`
			Shell    string `yaml:"shell"`
			HomeDir  string `yaml:"homedir"`
		} `yaml:"users"`
		Groups []struct {
			GroupName string   `yaml:"groupname"`
			GID       int      `yaml:"gid"`
			Members   []string `yaml:"members"`
		} `yaml:"groups"`
	} `yaml:"accounts"`
	Paths []struct {
		Path        string `yaml:"path"`
		Type        string `yaml:"type"`
		UID         int    `yaml:"uid"`
		GID         int    `yaml:"gid"`
		Permissions uint32 `yaml:"permissions"`
		Source      string `yaml:"source"`
		Recursive   bool   `yaml:"recursive"`
	} `yaml:"paths"`
	Archs       []string          `yaml:"archs"`
	Annotations map[string]string `yaml:"annotations"`
}

// readImageFile reads an image file; the maps and lists it sets are
// checked here, the archs against the roots' later.
func readImageFile(name string) (*imageFile, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("image file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	f := &imageFile{}
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("image file %s: %w", name, err)
	}
	bad := func(key, why string) error { return fmt.Errorf("image file %s: %s: %s", name, key, why) }
	switch {
	case f.Entrypoint.Type != "":
		return nil, bad("entrypoint.type", fmt.Sprintf("%q is not supported: give entrypoint.command", f.Entrypoint.Type))
	}
	if f.Contents != nil {
		for _, k := range f.Contents.Keyring {
			if strings.Contains(k, "://") {
				return nil, bad("contents.keyring", fmt.Sprintf("%s: only local key files are supported", k))
			}
		}
	}
	for _, a := range f.Archs {
		if _, err := image.Platform(a); err != nil {
			return nil, bad("archs", err.Error())
		}
	}
	return f, nil
}

// apply fills the options the command line left unset.
func (f *imageFile) apply(opts *imageOptions) {
	if c := f.Contents; c != nil {
		if len(opts.packages) == 0 {
			opts.packages = c.Packages
		}
		if len(opts.repos) == 0 {
			opts.repos = c.Repositories
		}
		opts.keyFiles = append(opts.keyFiles, c.Keyring...)
		if len(opts.archs) == 0 {
			opts.archs = f.Archs
		}
	}
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&opts.entrypoint, f.Entrypoint.Command)
	set(&opts.cmd, f.Cmd)
	set(&opts.workdir, f.WorkDir)
	set(&opts.user, f.Accounts.RunAs)
	set(&opts.stopSignal, f.StopSignal)
	var env []string
	for _, k := range slices.Sorted(maps.Keys(f.Environment)) {
		// The command line's --env comes after, so it wins.
		if !slices.ContainsFunc(opts.env, func(e string) bool { return strings.HasPrefix(e, k+"=") }) {
			env = append(env, k+"="+f.Environment[k])
		}
	}
	opts.env = append(env, opts.env...)
	var ann []string
	for _, k := range slices.Sorted(maps.Keys(f.Annotations)) {
		ann = append(ann, k+"="+f.Annotations[k])
	}
	opts.annotations = append(ann, opts.annotations...)
}

// checkArchs checks that the roots are the image file's archs, one each.
func (f *imageFile) checkArchs(name string, imgs []*image.Image) error {
	if len(f.Archs) == 0 {
		return nil
	}
	var got []string
	for _, im := range imgs {
		got = append(got, im.Arch)
	}
	want := slices.Clone(f.Archs)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		return fmt.Errorf("image file %s: archs: the file asks for %s, the roots are %s",
			name, strings.Join(want, ", "), strings.Join(got, ", "))
	}
	return nil
}

// customization returns the accounts and paths the file adds to a root
// made for the image, or nil.
func (f *imageFile) customization() *image.Customization {
	c := &image.Customization{}
	for _, g := range f.Accounts.Groups {
		c.Groups = append(c.Groups, image.Group{Name: g.GroupName, GID: g.GID, Members: g.Members})
	}
	for _, u := range f.Accounts.Users {
		c.Users = append(c.Users, image.User{Name: u.Username, UID: u.UID, GID: u.GID, Shell: u.Shell, Home: u.HomeDir})
	}
	for _, p := range f.Paths {
		c.Paths = append(c.Paths, image.Path{Path: p.Path, Type: p.Type, Source: p.Source,
			UID: p.UID, GID: p.GID, Mode: p.Permissions, Recursive: p.Recursive})
	}
	if len(c.Groups)+len(c.Users)+len(c.Paths) == 0 {
		return nil
	}
	return c
}
