package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/sign"
)

// showArchiveJSON is the JSON form of `apkit show FILE.apk|APKINDEX.tar.gz --json`.
type showArchiveJSON struct {
	File string `json:"file"`
	// Kind is "package" or "index".
	Kind string `json:"kind"`
	// Size is the file's size in bytes.
	Size       int64           `json:"size"`
	Signatures []showSignature `json:"signatures"`

	// ID is a package's identity as an index records it (C:Q1...).
	ID      string        `json:"id,omitempty"`
	Info    *showPkgInfo  `json:"info,omitempty"`
	Scripts []string      `json:"scripts,omitempty"`
	Files   []showFileRow `json:"files,omitempty"`

	// Description and Packages describe an index; Entries lists its
	// packages as NAME-VERSION (with --files).
	Description string   `json:"description,omitempty"`
	Packages    int      `json:"packages,omitempty"`
	Entries     []string `json:"entries,omitempty"`
}

type showSignature struct {
	Algorithm string `json:"algorithm"`
	KeyName   string `json:"key_name"`
	Bytes     int    `json:"bytes"`
}

// showPkgInfo is .PKGINFO in JSON.
type showPkgInfo struct {
	Name             string   `json:"pkgname"`
	Version          string   `json:"pkgver"`
	Description      string   `json:"pkgdesc"`
	URL              string   `json:"url"`
	BuildDate        int64    `json:"builddate"`
	Packager         string   `json:"packager"`
	Size             uint64   `json:"size"`
	Arch             string   `json:"arch"`
	Origin           string   `json:"origin"`
	Commit           string   `json:"commit"`
	Maintainer       string   `json:"maintainer,omitempty"`
	ReplacesPriority uint64   `json:"replaces_priority,omitempty"`
	ProviderPriority uint64   `json:"provider_priority,omitempty"`
	License          string   `json:"license"`
	Replaces         []string `json:"replaces,omitempty"`
	Depends          []string `json:"depends,omitempty"`
	Provides         []string `json:"provides,omitempty"`
	Triggers         []string `json:"triggers,omitempty"`
	InstallIf        []string `json:"install_if,omitempty"`
	DataHash         string   `json:"datahash,omitempty"`
}

type showFileRow struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"`
	Mode     string `json:"mode"`
	Owner    string `json:"owner"`
	Size     int64  `json:"size"`
	Link     string `json:"link,omitempty"`
	Checksum string `json:"sha1,omitempty"`
}

// runShowArchive shows a package or an index: metadata, signatures and,
// with opts.files, the file list (or the index's packages). It reads the
// file without checking trust: apkit verify does that.
func runShowArchive(ctx context.Context, app *App, opts *showOptions, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("show %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("show %s: %w", path, err)
	}
	out := showArchiveJSON{File: path, Size: fi.Size(), Signatures: []showSignature{}}
	p, err := apk.Read(f, &apk.ReadOptions{ControlOnly: !opts.files})
	switch {
	case err == nil:
		out.Kind = "package"
		fillPackage(&out, p, opts.files)
	case errors.Is(err, apk.ErrNotPackage):
		out.Kind = "index"
		if err := readIndexForShow(f, &out, opts.files); err != nil {
			return fmt.Errorf("show %s: %w", path, err)
		}
	default:
		return fmt.Errorf("show %s: %w", path, err)
	}
	if opts.json {
		return writeJSONLine(app.IO.Out, out)
	}
	return printArchive(app.IO.Out, &out)
}

func fillPackage(out *showArchiveJSON, p *apk.Package, files bool) {
	for _, s := range p.Signatures {
		out.Signatures = append(out.Signatures, showSignature{string(s.Algorithm), s.KeyName, len(s.Value)})
	}
	in := p.Info
	out.ID = p.ID()
	out.Info = &showPkgInfo{
		Name: in.Name, Version: in.Version, Description: in.Description, URL: in.URL,
		BuildDate: in.BuildDate, Packager: in.Packager, Size: in.Size, Arch: in.Arch,
		Origin: in.Origin, Commit: in.Commit, Maintainer: in.Maintainer,
		ReplacesPriority: in.ReplacesPriority, ProviderPriority: in.ProviderPriority,
		License: in.License, Replaces: in.Replaces, Depends: in.AllDepends(),
		Provides: in.AllProvides(), Triggers: in.Triggers, InstallIf: in.InstallIf,
		DataHash: in.DataHash,
	}
	for _, s := range p.Scripts {
		out.Scripts = append(out.Scripts, s.Name)
	}
	if files {
		out.Files = []showFileRow{}
		for _, f := range p.Files {
			out.Files = append(out.Files, showFileRow{
				Path: f.Path, Kind: f.Kind.String(), Mode: fileModeString(f), Owner: f.Uname + ":" + f.Gname,
				Size: f.Size, Link: f.Link, Checksum: f.Checksum,
			})
		}
	}
}

// fileModeString renders a data entry's type and mode as ls does.
func fileModeString(f apk.File) string {
	m := fs.FileMode(f.Mode & 0o777)
	switch f.Kind {
	case apk.KindDir:
		m |= fs.ModeDir
	case apk.KindSymlink:
		m |= fs.ModeSymlink
	case apk.KindChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case apk.KindBlock:
		m |= fs.ModeDevice
	case apk.KindFIFO:
		m |= fs.ModeNamedPipe
	}
	if f.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if f.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if f.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m.String()
}

func readIndexForShow(f *os.File, out *showArchiveJSON, entries bool) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sr, err := sign.NewSignedReader(f)
	if err != nil {
		return err
	}
	for _, s := range sr.Signatures() {
		out.Signatures = append(out.Signatures, showSignature{string(s.Algorithm), s.KeyName, len(s.Value)})
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	ix, err := index.Read(f)
	if err != nil {
		return err
	}
	out.Description = ix.Description
	out.Packages = len(ix.Records)
	if entries {
		out.Entries = make([]string, 0, len(ix.Records))
		for _, r := range ix.Records {
			out.Entries = append(out.Entries, r.Name+"-"+r.Version)
		}
	}
	return nil
}

func printArchive(w io.Writer, out *showArchiveJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	list := func(k string, v []string) { row(k, strings.Join(v, " ")) }
	row("file", out.File)
	row("kind", out.Kind)
	row("size", fmt.Sprint(out.Size))
	if in := out.Info; in != nil {
		row("pkgname", in.Name)
		row("pkgver", in.Version)
		row("arch", in.Arch)
		row("pkgdesc", in.Description)
		row("url", in.URL)
		row("license", in.License)
		row("origin", in.Origin)
		row("maintainer", in.Maintainer)
		row("packager", in.Packager)
		row("commit", in.Commit)
		if in.BuildDate != 0 {
			row("builddate", time.Unix(in.BuildDate, 0).UTC().Format(time.RFC3339))
		}
		row("installed size", fmt.Sprint(in.Size))
		list("depends", in.Depends)
		list("provides", in.Provides)
		list("install_if", in.InstallIf)
		list("replaces", in.Replaces)
		list("triggers", in.Triggers)
		if in.ProviderPriority != 0 {
			row("provider_priority", fmt.Sprint(in.ProviderPriority))
		}
		row("datahash", in.DataHash)
		row("id", out.ID)
		list("scripts", out.Scripts)
	}
	if out.Kind == "index" {
		row("description", out.Description)
		row("packages", fmt.Sprint(out.Packages))
	}
	if len(out.Signatures) == 0 {
		row("signatures", "none")
	}
	for i, s := range out.Signatures {
		k := ""
		if i == 0 {
			k = "signatures"
		}
		fmt.Fprintf(tw, "%s\t%s %s (%d bytes)\n", k+":", s.Algorithm, s.KeyName, s.Bytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(out.Files) > 0 {
		fmt.Fprintln(w)
		for _, f := range out.Files {
			name := f.Path
			if f.Link != "" && f.Kind == "symlink" {
				name += " -> " + f.Link
			} else if f.Kind == "hardlink" {
				name += " link to " + f.Link
			}
			fmt.Fprintf(w, "%-10s %-9s %9d %s\n", f.Mode, f.Owner, f.Size, name)
		}
	}
	for _, e := range out.Entries {
		fmt.Fprintln(w, e)
	}
	return nil
}
