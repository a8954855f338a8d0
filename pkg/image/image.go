package image

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/apkit-dev/apkit/pkg/install"
)

// DefaultPath is the PATH an image's environment gets when [Config.Env]
// sets none.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Config is what an image's config says about running it. The zero value
// runs nothing by default and sets only PATH.
type Config struct {
	// Entrypoint and Cmd are the program and its default arguments.
	Entrypoint []string
	Cmd        []string
	// Env holds KEY=VALUE items; DefaultPath is added when none sets PATH.
	Env []string
	// WorkingDir is the directory the program starts in.
	WorkingDir string
	// User is "uid[:gid]" or a name the image's /etc/passwd knows.
	User string
	// ExposedPorts holds "port[/proto]" items ("8080", "53/udp").
	ExposedPorts []string
	// StopSignal is the signal that stops the container ("SIGTERM").
	StopSignal string
	// Labels are the config's labels.
	Labels map[string]string
	// Annotations are the manifest's annotations; they take precedence
	// over the org.opencontainers.image.* ones [Build] fills in.
	Annotations map[string]string
}

// Options say how [Build] makes an image. A nil *Options means the zero
// value.
type Options struct {
	// Arch is the root's apk architecture ("x86_64", "aarch64", ...); ""
	// takes the root's /etc/apk/arch, else x86_64.
	Arch string
	// Created is the image's creation time and every file's time in the
	// layer: SOURCE_DATE_EPOCH. The zero value means the newest build time
	// of the installed packages, else the Unix epoch.
	Created time.Time
	// Config is the image's runtime configuration.
	Config Config
	// TempDir holds the layer's file until [Image.Close]; "" means
	// os.TempDir().
	TempDir string
	// Owners gives paths (relative to the root, as "etc/passwd") an owner
	// and mode in the layer, over apk's database and the disk
	// ([Customize] returns them).
	Owners map[string]Owner
}

// Image is an image built from a root. Its layer lives in a temporary
// file until Close. It is safe for concurrent reads.
type Image struct {
	// Arch is the apk architecture the image was built for.
	Arch string
	// Platform is the OCI platform of Arch.
	Platform v1.Platform
	// Database is the root's apk database (empty when the root has none).
	Database *install.Database
	// Repositories are the root's /etc/apk/repositories lines.
	Repositories []string
	// Created is the image's creation time.
	Created time.Time

	img   v1.Image
	layer *fileLayer
}

// V1 returns the image as a go-containerregistry image.
func (im *Image) V1() v1.Image { return im.img }

// Digest returns the digest of the image's manifest.
func (im *Image) Digest() (v1.Hash, error) { return im.img.Digest() }

// Close removes the layer's temporary file.
func (im *Image) Close() error {
	if im.layer == nil {
		return nil
	}
	err := os.Remove(im.layer.path)
	im.layer = nil
	return err
}

// Platform returns the OCI platform for an apk architecture.
func Platform(arch string) (v1.Platform, error) {
	p := v1.Platform{OS: "linux"}
	switch arch {
	case "x86_64":
		p.Architecture = "amd64"
	case "x86":
		p.Architecture = "386"
	case "aarch64":
		p.Architecture, p.Variant = "arm64", "v8"
	case "armv7":
		p.Architecture, p.Variant = "arm", "v7"
	case "armhf":
		p.Architecture, p.Variant = "arm", "v6"
	case "ppc64le", "s390x", "riscv64", "loongarch64":
		p.Architecture = arch
	default:
		return p, fmt.Errorf("no OCI platform for arch %q", arch)
	}
	return p, nil
}

// Build makes a one-layer image of root. It reads apk's database in root,
// when there is one, for owners, modes and the annotations and SBOM of the
// installed packages.
func Build(root string, opts *Options) (*Image, error) {
	if opts == nil {
		opts = &Options{}
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("image: %s: not a directory", root)
	}
	db, err := install.ReadDatabase(root)
	if err != nil {
		return nil, fmt.Errorf("image: %s: %w", root, err)
	}
	arch := opts.Arch
	if arch == "" {
		arch = readLine(filepath.Join(root, install.ArchFile))
	}
	if arch == "" {
		arch = "x86_64"
	}
	plat, err := Platform(arch)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	created := opts.Created.UTC().Truncate(time.Second)
	if opts.Created.IsZero() {
		var newest int64
		for _, p := range db.Packages {
			newest = max(newest, p.Record.BuildTime)
		}
		created = time.Unix(newest, 0).UTC()
	}
	im := &Image{Arch: arch, Platform: plat, Database: db, Created: created}
	if data, err := os.ReadFile(filepath.Join(root, install.RepositoriesFile)); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				im.Repositories = append(im.Repositories, l)
			}
		}
	}

	f, err := os.CreateTemp(opts.TempDir, "apkit-layer-*.tar.gz")
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	layer, err := writeLayer(root, db, opts.Owners, created, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, fmt.Errorf("image: %s: %w", root, err)
	}
	im.layer = layer
	if im.img, err = assemble(im, layer, &opts.Config); err != nil {
		im.Close()
		return nil, fmt.Errorf("image: %w", err)
	}
	return im, nil
}

func readLine(name string) string {
	data, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0])
}

// assemble puts the layer, the config and the annotations together.
func assemble(im *Image, layer *fileLayer, c *Config) (v1.Image, error) {
	diffID, _ := layer.DiffID()
	env := slices.Clone(c.Env)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append([]string{DefaultPath}, env...)
	}
	cfg := &v1.ConfigFile{
		Architecture: im.Platform.Architecture,
		Variant:      im.Platform.Variant,
		OS:           im.Platform.OS,
		Created:      v1.Time{Time: im.Created},
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		History: []v1.History{{
			Created:   v1.Time{Time: im.Created},
			CreatedBy: "apkit image",
			Comment:   historyComment(im.Database),
		}},
		Config: v1.Config{
			Entrypoint: c.Entrypoint,
			Cmd:        c.Cmd,
			Env:        env,
			WorkingDir: c.WorkingDir,
			User:       c.User,
			StopSignal: c.StopSignal,
			Labels:     c.Labels,
		},
	}
	for _, p := range c.ExposedPorts {
		if p == "" {
			return nil, errors.New("exposed port: empty")
		}
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		if cfg.Config.ExposedPorts == nil {
			cfg.Config.ExposedPorts = map[string]struct{}{}
		}
		cfg.Config.ExposedPorts[p] = struct{}{}
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, MediaType: types.OCILayer})
	if err != nil {
		return nil, err
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	ann := packageAnnotations(im)
	maps.Copy(ann, c.Annotations)
	return mutate.Annotations(img, ann).(v1.Image), nil
}

func historyComment(db *install.Database) string {
	if db == nil || len(db.Packages) == 0 {
		return ""
	}
	return fmt.Sprintf("%d apk packages", len(db.Packages))
}

// packageAnnotations fills the org.opencontainers.image.* annotations that
// the installed packages tell: with one package in the world, its name,
// version, description, URL, license and commit describe the image.
func packageAnnotations(im *Image) map[string]string {
	ann := map[string]string{
		"org.opencontainers.image.created": im.Created.Format(time.RFC3339),
	}
	db := im.Database
	if db == nil || len(db.World) != 1 {
		return ann
	}
	name := db.World[0]
	if i := strings.IndexAny(name, "=<>~@"); i >= 0 {
		name = name[:i]
	}
	p := db.Find(name)
	if p == nil {
		return ann
	}
	r := p.Record
	set := func(k, v string) {
		if v != "" {
			ann["org.opencontainers.image."+k] = v
		}
	}
	set("title", r.Name)
	set("version", r.Version)
	set("description", r.Description)
	set("url", r.URL)
	set("licenses", r.License)
	set("revision", r.Commit)
	return ann
}
