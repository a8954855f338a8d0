package cli

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/pkg/apkbuild"
	"github.com/apkit-dev/apkit/pkg/image"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/apkit-dev/apkit/pkg/install"
	"github.com/apkit-dev/apkit/pkg/install/alpinekeys"
	"github.com/apkit-dev/apkit/pkg/repo"
	"github.com/apkit-dev/apkit/pkg/resolve"
	"github.com/apkit-dev/apkit/pkg/sign"
)

type imageOptions struct {
	file        string
	roots       []string
	packages    []string
	repos       []string
	keysDirs    []string
	keyFiles    []string
	archs       []string
	noScripts   bool
	stopSignal  string
	entrypoint  string
	cmd         string
	env         []string
	workdir     string
	user        string
	ports       []string
	labels      []string
	annotations []string
	output      string
	format      string
	tag         string
	sbom        string
	noSBOM      bool
	push        string
	dryRun      bool
	json        bool
}

// imageResult is the JSON form of `apkit image --json`.
type imageResult struct {
	// Digest is the digest of the image's manifest, or of the multi-arch
	// index for several roots.
	Digest string `json:"digest"`
	// Images lists each architecture's image.
	Images []imageArch `json:"images"`
	// Output and Format are the file or directory written ("" for none)
	// and its format (oci, oci-layout or docker).
	Output string `json:"output,omitempty"`
	Format string `json:"format,omitempty"`
	// SBOMs are the SPDX files written, one per architecture.
	SBOMs []string `json:"sboms,omitempty"`
	// Pushed is the reference pushed, with its digest.
	Pushed string `json:"pushed,omitempty"`
}

// imageArch is one architecture's image in an [imageResult].
type imageArch struct {
	Arch     string `json:"arch"`
	Digest   string `json:"digest"`
	Packages int    `json:"packages"`
}

const imageLong = `Make an OCI container image of packages or of a root directory: no
Dockerfile, no daemon.

--package NAME (repeatable; any apk world item) installs the packages and
their dependencies, as apk's solver chooses them, from the --repository
URLs or directories (signatures checked against Alpine's release keys for
the arch, --keys-dir, apkit's keys and the signing key's public half) into
a new root per --arch (default the host's), with their install scripts run
under bubblewrap (--no-scripts to skip them). --root DIR takes an existing
root instead: one apk or apkit installed, or any directory, its
/etc/apk/arch naming the architecture. Several arches or roots make a
multi-arch image index.

The image has one layer holding the root's files, sorted, every time set to
SOURCE_DATE_EPOCH (else the newest build time of the root's packages), owners
and modes as apk's database in the root records them (as on disk for files
it does not know), with extended attributes, hard links and symbolic links.
The same packages or root and flags give the same digest on any machine.

The image's config comes from the flags. --entrypoint and --cmd take a JSON
array ('["/bin/sh","-c"]') or words split on spaces. The manifest's
org.opencontainers.image.* annotations are filled in from the package the
world names, when it names one: title, version, description, url, licenses
and revision; --annotation overrides them.

Output: -o FILE.tar writes an OCI archive (--format oci, the default), a
docker-archive for docker load and podman load (--format docker, tagged
--tag), or -o DIR an OCI image layout directory (--format oci-layout).
--push REF uploads the image to a registry, skipping the blobs it already
has, and attaches the SBOM to the image as an OCI artifact (one of its
referrers; --no-sbom for none). Credentials come from the docker config
file ($DOCKER_CONFIG or ~/.docker/config.json) and, in GitLab CI, for
$CI_REGISTRY, from CI_REGISTRY_USER and CI_REGISTRY_PASSWORD or
CI_JOB_TOKEN. An SPDX 2.3 SBOM of the installed packages is written beside
the output (FILE.spdx.json, or --sbom FILE). --dry-run builds the image and
prints its digest only.

-f FILE reads the settings from a YAML image file with apko's keys:
contents.repositories, contents.keyring (local key files),
contents.packages, entrypoint.command, cmd, stop-signal, work-dir,
environment, accounts (run-as; users and groups, added to the new root's
/etc/passwd and /etc/group), paths (directory, empty-file, symlink,
hardlink, permissions), annotations and archs. Flags win over the file.`

const imageExample = `  apkit image -X https://dl-cdn.alpinelinux.org/alpine/v3.21/main --package busybox --entrypoint /bin/sh -o app.tar
  apkit image -X ~/packages/main -p hello-sh --arch x86_64 --arch aarch64 --push registry.example.com/hello:1
  apkit image --root /tmp/root --entrypoint /bin/sh -o app.tar
  apkit image --root /tmp/root --cmd '["/bin/sh","-c","echo hi"]' --push registry.example.com/app:1
  apkit image --root /tmp/root --format docker --tag app:dev -o app-docker.tar && docker load -i app-docker.tar
  apkit image --root /tmp/amd64 --root /tmp/arm64 --format oci-layout -o layout/
  apkit image -f image.yaml --root /tmp/root -o app.tar`

func newImageCmd(app *App) *cobra.Command {
	opts := &imageOptions{}
	cmd := &cobra.Command{
		Use:     "image (--package NAME -X REPO | --root DIR) [flags]",
		Short:   "Make an OCI container image of packages or a root directory",
		Long:    imageLong,
		Example: imageExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImage(cmd.Context(), app, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.file, "file", "f", "", "read the image's settings from the YAML image `file` (apko's keys; flags win)")
	f.StringArrayVar(&opts.roots, "root", nil, "the root `dir` to make the image of (repeat for one root per architecture)")
	f.StringArrayVarP(&opts.packages, "package", "p", nil, "install `name` (an apk world item: name, name=version, so:..., name@tag) and its dependencies into a new root (repeatable)")
	f.StringArrayVarP(&opts.repos, "repository", "X", nil, "with --package, the repository `url` or directory to install from (repeatable, first wins)")
	f.StringArrayVar(&opts.keysDirs, "keys-dir", nil, "with --package, also trust the public keys in `dir` (repeatable)")
	f.StringArrayVar(&opts.archs, "arch", nil, "with --package, the `arch` to install (repeat for a multi-arch image; default the host's)")
	f.BoolVar(&opts.noScripts, "no-scripts", false, "with --package, run no install scripts or triggers")
	f.StringVar(&opts.entrypoint, "entrypoint", "", "the image's entrypoint: a JSON array or `words`")
	f.StringVar(&opts.cmd, "cmd", "", "the entrypoint's default arguments: a JSON array or `words`")
	f.StringArrayVarP(&opts.env, "env", "e", nil, "set `KEY=VALUE` in the image's environment (repeatable)")
	f.StringVarP(&opts.workdir, "workdir", "w", "", "the `dir` the entrypoint starts in")
	f.StringVarP(&opts.user, "user", "u", "", "the `user` (uid[:gid] or name) the entrypoint runs as")
	f.StringVar(&opts.stopSignal, "stop-signal", "", "the `signal` that stops the container (SIGTERM)")
	f.StringArrayVar(&opts.ports, "port", nil, "expose `port[/proto]` (repeatable)")
	f.StringArrayVar(&opts.labels, "label", nil, "set the config label `KEY=VALUE` (repeatable)")
	f.StringArrayVar(&opts.annotations, "annotation", nil, "set the manifest annotation `KEY=VALUE` (repeatable)")
	f.StringVarP(&opts.output, "output", "o", "", "write the image to `path` (a .tar file, or a directory for oci-layout)")
	f.StringVar(&opts.format, "format", "", "output `format`: oci (an OCI archive), oci-layout (a directory) or docker (docker-archive); default oci, or oci-layout when -o ends in /")
	f.StringVarP(&opts.tag, "tag", "t", "", "the image's `name` in the output (default latest, or apkit.local/image:latest for docker)")
	f.StringVar(&opts.sbom, "sbom", "", "write the SPDX SBOM to `file` (default: beside the output, OUTPUT.spdx.json)")
	f.BoolVar(&opts.noSBOM, "no-sbom", false, "write and attach no SBOM")
	f.StringVar(&opts.push, "push", "", "push the image to the registry reference `ref` (host/repo:tag)")
	f.BoolVar(&opts.dryRun, "dry-run", false, "build the image and print its digest; write and push nothing")
	f.BoolVar(&opts.json, "json", false, "print the result as JSON")
	return cmd
}

func runImage(ctx context.Context, app *App, opts *imageOptions) error {
	var file *imageFile
	if opts.file != "" {
		f, err := readImageFile(opts.file)
		if err != nil {
			return err
		}
		file = f
		file.apply(opts)
	}
	roots, cleanup, err := imageRoots(ctx, app, opts)
	if err != nil {
		return err
	}
	defer cleanup()
	var custom *image.Customization
	if file != nil {
		custom = file.customization()
	}
	if custom != nil && len(opts.roots) > 0 {
		return usageErrorf("image: %s: accounts.users, accounts.groups and paths change the root: they go with packages, not --root (make them in your root)", opts.file)
	}
	format, err := imageFormat(opts)
	if err != nil {
		return err
	}
	cfg, err := imageConfig(opts)
	if err != nil {
		return err
	}
	created, err := imageCreated(app)
	if err != nil {
		return err
	}
	var imgs []*image.Image
	defer func() {
		for _, im := range imgs {
			im.Close()
		}
	}()
	res := &imageResult{}
	for _, root := range roots {
		var owners map[string]image.Owner
		if custom != nil {
			if owners, err = image.Customize(root, custom); err != nil {
				return fmt.Errorf("image: %s: %w", opts.file, err)
			}
		}
		im, err := image.Build(root, &image.Options{Created: created, Config: *cfg, Owners: owners})
		if err != nil {
			return err
		}
		imgs = append(imgs, im)
		d, err := im.Digest()
		if err != nil {
			return fmt.Errorf("image %s: %w", root, err)
		}
		res.Images = append(res.Images, imageArch{Arch: im.Arch, Digest: d.String(), Packages: len(im.Database.Packages)})
	}
	if file != nil {
		if err := file.checkArchs(opts.file, imgs); err != nil {
			return err
		}
	}
	d, err := image.Digest(imgs)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	res.Digest = d.String()
	if !opts.dryRun {
		if err := writeImage(ctx, app, opts, format, imgs, res); err != nil {
			return err
		}
	}
	if opts.json {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintln(app.IO.Out, res.Digest)
	if res.Output != "" {
		fmt.Fprintf(app.IO.ErrOut, "wrote %s (%s)\n", res.Output, res.Format)
	}
	for _, s := range res.SBOMs {
		fmt.Fprintf(app.IO.ErrOut, "wrote %s (SPDX SBOM)\n", s)
	}
	if res.Pushed != "" {
		fmt.Fprintf(app.IO.ErrOut, "pushed %s\n", res.Pushed)
	}
	return nil
}

// imageRoots returns the root directories to make images of, one per
// architecture: the --root flags, or, for --package, a new temporary root
// per arch with the solver's plan installed (removed by cleanup).
func imageRoots(ctx context.Context, app *App, opts *imageOptions) (roots []string, cleanup func(), err error) {
	cleanup = func() {}
	switch {
	case len(opts.roots) > 0 && len(opts.packages) > 0:
		return nil, cleanup, usageErrorf("image: give --root or packages (--package, contents.packages), not both")
	case len(opts.roots) > 0:
		if len(opts.repos) > 0 || len(opts.archs) > 0 {
			return nil, cleanup, usageErrorf("image: --repository and --arch go with --package; a --root has its own")
		}
		return opts.roots, cleanup, nil
	case len(opts.packages) == 0:
		return nil, cleanup, usageErrorf("image: give --root DIR or --package NAME")
	case len(opts.repos) == 0:
		return nil, cleanup, usageErrorf("image: --package needs a --repository to install from")
	}
	var cfg *config.Config
	if app.Config != nil {
		if cfg, err = app.Config(); err != nil {
			return nil, cleanup, err
		}
	}
	tmp, err := os.MkdirTemp("", "apkit-image-*")
	if err != nil {
		return nil, cleanup, fmt.Errorf("image: %w", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	archs := opts.archs
	if len(archs) == 0 {
		archs = []string{apkbuild.HostArch()}
	}
	for _, arch := range archs {
		kr, err := loadKeyring(app, cfg, opts.keysDirs)
		if err == nil {
			err = alpinekeys.AddTo(kr, arch)
		}
		for _, k := range opts.keyFiles {
			if err != nil {
				break
			}
			var data []byte
			if data, err = os.ReadFile(k); err == nil {
				var pub *rsa.PublicKey
				if pub, err = sign.ParsePublicKey(data); err == nil {
					kr.Add(filepath.Base(k), pub)
				}
			}
			if err != nil {
				err = fmt.Errorf("image: keyring %s: %w", k, err)
			}
		}
		if err != nil {
			return nil, cleanup, err
		}
		root := filepath.Join(tmp, arch)
		if err := installPackages(ctx, app, opts, root, arch, kr); err != nil {
			return nil, cleanup, err
		}
		roots = append(roots, root)
	}
	return roots, cleanup, nil
}

// installPackages solves opts.packages over the repositories for arch and
// installs the plan into root.
func installPackages(ctx context.Context, app *App, opts *imageOptions, root, arch string, kr *sign.Keyring) error {
	var (
		rrs  []resolve.Repository
		from = map[*index.Record]string{}
	)
	for _, u := range opts.repos {
		r, err := install.OpenRepository(ctx, u, arch, kr, nil)
		if err != nil {
			return fmt.Errorf("image: %w", err)
		}
		rrs = append(rrs, resolve.Repository{Records: r.Index.Records})
		for _, rec := range r.Index.Records {
			if _, ok := from[rec]; !ok {
				from[rec] = r.URL
			}
		}
	}
	db, err := resolve.NewDB(resolve.Config{Arch: arch, Repositories: rrs})
	if err != nil {
		return fmt.Errorf("image: %s: %w", arch, err)
	}
	plan, err := db.Solve(resolve.Request{World: opts.packages})
	if err != nil {
		return fmt.Errorf("image: %s: %w", arch, err)
	}
	var pkgs []install.Package
	for _, c := range plan.Changes {
		if c.New == nil {
			continue
		}
		u, ok := from[c.New]
		if !ok {
			return fmt.Errorf("image: %s: the plan's %s-%s is in no repository", arch, c.New.Name, c.New.Version)
		}
		pkgs = append(pkgs, install.Package{Record: c.New, Repository: u})
	}
	app.IO.Verbosef("%s: installing %d packages", arch, len(pkgs))
	_, err = install.Install(ctx, root, pkgs, &install.Options{
		Arch:         arch,
		World:        plan.World,
		Repositories: opts.repos,
		NoScripts:    opts.noScripts,
		Log:          func(msg string) { app.IO.Verbosef("%s", msg) },
	})
	if err != nil {
		return fmt.Errorf("image: install %s: %w", arch, err)
	}
	return nil
}

// writeImage writes the output, the SBOMs and the push that opts ask for.
func writeImage(ctx context.Context, app *App, opts *imageOptions, format string, imgs []*image.Image, res *imageResult) error {
	if opts.output != "" {
		out := strings.TrimSuffix(opts.output, "/")
		if out == "" {
			out = opts.output
		}
		tag := opts.tag
		var err error
		switch format {
		case "oci-layout":
			if tag == "" {
				tag = "latest"
			}
			err = image.WriteLayout(out, imgs, tag)
		case "oci":
			if tag == "" {
				tag = "latest"
			}
			err = repo.WriteFile(out, 0o644, func(w io.Writer) error {
				return image.WriteOCIArchive(w, imgs, tag, imgs[0].Created)
			})
		case "docker":
			if tag == "" {
				tag = "apkit.local/image:latest"
			}
			err = repo.WriteFile(out, 0o644, func(w io.Writer) error {
				return image.WriteDockerArchive(w, imgs, tag)
			})
		}
		if err != nil {
			return fmt.Errorf("image: write %s: %w", out, err)
		}
		res.Output, res.Format = out, format
	}
	if !opts.noSBOM && (opts.sbom != "" || opts.output != "") {
		base := opts.sbom
		if base == "" {
			base = strings.TrimSuffix(res.Output, ".tar") + ".spdx.json"
		}
		for _, im := range imgs {
			name := base
			if len(imgs) > 1 {
				name = strings.TrimSuffix(base, ".spdx.json") + "." + im.Arch + ".spdx.json"
			}
			title := opts.tag
			if title == "" {
				title = filepath.Base(strings.TrimSuffix(res.Output, ".tar"))
			}
			err := repo.WriteFile(name, 0o644, func(w io.Writer) error {
				return image.WriteSBOM(w, im, &image.SBOMOptions{Name: title})
			})
			if err != nil {
				return fmt.Errorf("image: sbom %s: %w", name, err)
			}
			res.SBOMs = append(res.SBOMs, name)
		}
	}
	if opts.push != "" {
		var gl *image.GitLab
		if reg := app.Getenv("CI_REGISTRY"); reg != "" {
			gl = &image.GitLab{
				Registry: reg,
				User:     app.Getenv("CI_REGISTRY_USER"),
				Password: app.Getenv("CI_REGISTRY_PASSWORD"),
				JobToken: app.Getenv("CI_JOB_TOKEN"),
			}
		}
		popts := &image.PushOptions{Keychain: image.Keychain(gl)}
		if !opts.noSBOM {
			title := opts.tag
			if title == "" {
				title = strings.SplitN(opts.push, "@", 2)[0]
			}
			popts.SBOM = &image.SBOMOptions{Name: title}
		}
		h, err := image.Push(ctx, opts.push, imgs, popts)
		if err != nil {
			return err
		}
		res.Pushed = strings.SplitN(opts.push, "@", 2)[0] + "@" + h.String()
	}
	return nil
}

// imageFormat checks --format against -o and returns the format.
func imageFormat(opts *imageOptions) (string, error) {
	f := opts.format
	if f == "" {
		f = "oci"
		if strings.HasSuffix(opts.output, "/") {
			f = "oci-layout"
		}
	}
	if !slices.Contains([]string{"oci", "oci-layout", "docker"}, f) {
		return "", usageErrorf("image: --format %q: want oci, oci-layout or docker", opts.format)
	}
	if opts.output == "" && opts.push == "" && !opts.dryRun {
		return "", usageErrorf("image: nothing to do: give -o FILE, --push REF or --dry-run")
	}
	if f == "docker" && len(opts.roots) > 1 {
		return "", usageErrorf("image: --format docker holds one architecture; give one --root or use oci")
	}
	return f, nil
}

// imageConfig turns the config flags into an image config.
func imageConfig(opts *imageOptions) (*image.Config, error) {
	c := &image.Config{Env: opts.env, WorkingDir: opts.workdir, User: opts.user, ExposedPorts: opts.ports, StopSignal: opts.stopSignal}
	var err error
	if c.Entrypoint, err = commandLine("--entrypoint", opts.entrypoint); err != nil {
		return nil, err
	}
	if c.Cmd, err = commandLine("--cmd", opts.cmd); err != nil {
		return nil, err
	}
	for _, e := range opts.env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, usageErrorf("image: --env %q: want KEY=VALUE", e)
		}
	}
	if c.Labels, err = keyValues("--label", opts.labels); err != nil {
		return nil, err
	}
	if c.Annotations, err = keyValues("--annotation", opts.annotations); err != nil {
		return nil, err
	}
	return c, nil
}

// commandLine reads a JSON array, or words split on spaces.
func commandLine(flag, s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		var args []string
		if err := json.Unmarshal([]byte(s), &args); err != nil {
			return nil, usageErrorf("image: %s: not a JSON array of strings: %v", flag, err)
		}
		return args, nil
	}
	return strings.Fields(s), nil
}

func keyValues(flag string, items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, usageErrorf("image: %s %q: want KEY=VALUE", flag, it)
		}
		m[k] = v
	}
	return m, nil
}

// imageCreated is SOURCE_DATE_EPOCH when set; the zero time otherwise
// (the newest package's build time).
func imageCreated(app *App) (time.Time, error) {
	s := app.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH: %q is not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}
