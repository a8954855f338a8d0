package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/pkg/image"
	"github.com/apkit-dev/apkit/pkg/repo"
)

type imageOptions struct {
	file        string
	roots       []string
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

const imageLong = `Make an OCI container image of a root directory: no Dockerfile, no daemon.

The image has one layer holding the root's files, sorted, every time set to
SOURCE_DATE_EPOCH (else the newest build time of the root's packages), owners
and modes as apk's database in the root records them (as on disk for files
it does not know), with extended attributes, hard links and symbolic links.
The same root and flags give the same digest on any machine. The root is
one apk or apkit installed, or any directory; its /etc/apk/arch names the
image's architecture. Several --root flags, one per architecture, make a
multi-arch image index.

The image's config comes from the flags. --entrypoint and --cmd take a JSON
array ('["/bin/sh","-c"]') or words split on spaces. The manifest's
org.opencontainers.image.* annotations are filled in from the package the
root's /etc/apk/world names, when it names one: title, version,
description, url, licenses and revision; --annotation overrides them.

Output: -o FILE.tar writes an OCI archive (--format oci, the default), a
docker-archive for docker load and podman load (--format docker, tagged
--tag), or -o DIR an OCI image layout directory (--format oci-layout).
--push REF uploads the image to a registry, skipping the blobs it already
has, and attaches the SBOM to the image as an OCI artifact (one of its
referrers; --no-sbom for none). Credentials come from the docker config file ($DOCKER_CONFIG or
~/.docker/config.json) and, in GitLab CI, for $CI_REGISTRY, from
CI_REGISTRY_USER and CI_REGISTRY_PASSWORD or CI_JOB_TOKEN. An SPDX 2.3 SBOM
of the installed packages is written beside the output (FILE.spdx.json, or
--sbom FILE). --dry-run builds the image and prints its digest only.

-f FILE reads the settings from a YAML image file with apko's keys:
entrypoint.command, cmd, stop-signal, work-dir, environment, accounts.run-as,
annotations, and archs (checked against the roots'). Flags win over the file.

Choosing packages by name (--package, and an image file's
contents.packages) comes with apkit's dependency solver; until then, make
the root with apk or apkit first.`

const imageExample = `  apk --root /tmp/root --initdb --arch x86_64 add busybox
  apkit image --root /tmp/root --entrypoint /bin/sh -o app.tar
  apkit image --root /tmp/root --cmd '["/bin/sh","-c","echo hi"]' --push registry.example.com/app:1
  apkit image --root /tmp/root --format docker --tag app:dev -o app-docker.tar && docker load -i app-docker.tar
  apkit image --root /tmp/amd64 --root /tmp/arm64 --format oci-layout -o layout/
  apkit image -f image.yaml --root /tmp/root -o app.tar`

func newImageCmd(app *App) *cobra.Command {
	opts := &imageOptions{}
	cmd := &cobra.Command{
		Use:     "image --root DIR [flags]",
		Short:   "Make an OCI container image of a root directory",
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
	roots, err := imageRoots(opts)
	if err != nil {
		return err
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
		im, err := image.Build(root, &image.Options{Created: created, Config: *cfg})
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
// architecture. This is where packages chosen by name will come in: the
// solver's plan for each arch installed (install.Install) into a temporary
// root, whose image is then made like any other.
func imageRoots(opts *imageOptions) ([]string, error) {
	if len(opts.roots) == 0 {
		return nil, usageErrorf("image: give --root DIR (choosing packages by name comes with the dependency solver)")
	}
	return opts.roots, nil
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
