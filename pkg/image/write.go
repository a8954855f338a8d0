package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RefNameAnnotation names an image in an OCI layout's index.json.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// ErrNoImages is returned by the writers when given no image.
var ErrNoImages = errors.New("no images")

// Index returns one image as it is, and several (one per architecture) as
// a multi-arch OCI image index.
func Index(imgs []*Image) (remote.Taggable, error) {
	switch len(imgs) {
	case 0:
		return nil, ErrNoImages
	case 1:
		return imgs[0].img, nil
	}
	idx, err := index(imgs)
	if err != nil {
		return nil, err
	}
	return idx, nil
}

func index(imgs []*Image) (v1.ImageIndex, error) {
	seen := map[string]bool{}
	var adds []mutate.IndexAddendum
	for _, im := range imgs {
		key := im.Platform.String()
		if seen[key] {
			return nil, fmt.Errorf("index: two images for %s", key)
		}
		seen[key] = true
		p := im.Platform
		adds = append(adds, mutate.IndexAddendum{
			Add:        im.img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	return mutate.AppendManifests(idx, adds...), nil
}

// Digest returns the digest of what the writers write for imgs: the image's
// manifest, or the index's for several.
func Digest(imgs []*Image) (v1.Hash, error) {
	t, err := Index(imgs)
	if err != nil {
		return v1.Hash{}, err
	}
	switch t := t.(type) {
	case v1.Image:
		return t.Digest()
	case v1.ImageIndex:
		return t.Digest()
	}
	return v1.Hash{}, errors.New("digest: unknown artifact")
}

// WriteLayout writes imgs into the OCI image layout directory dir (made
// when missing), named refName (the org.opencontainers.image.ref.name
// annotation) when it is not "": an image of that name already there is
// replaced in index.json. Blobs already in dir are kept.
func WriteLayout(dir string, imgs []*Image, refName string) error {
	t, err := Index(imgs)
	if err != nil {
		return err
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("layout %s: %w", dir, err)
		}
	}
	if refName == "" {
		switch t := t.(type) {
		case v1.Image:
			err = p.AppendImage(t)
		case v1.ImageIndex:
			err = p.AppendIndex(t)
		}
	} else {
		// A new image of the same name replaces the old one in index.json.
		same := match.Annotation(RefNameAnnotation, refName)
		ann := layout.WithAnnotations(map[string]string{RefNameAnnotation: refName})
		switch t := t.(type) {
		case v1.Image:
			err = p.ReplaceImage(t, same, ann)
		case v1.ImageIndex:
			err = p.ReplaceIndex(t, same, ann)
		}
	}
	if err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	return nil
}

// WriteOCIArchive writes imgs as a tar of an OCI image layout (what
// skopeo calls oci-archive), its entries sorted and timed at created.
func WriteOCIArchive(w io.Writer, imgs []*Image, refName string, created time.Time) error {
	tmp, err := os.MkdirTemp("", "apkit-oci-*")
	if err != nil {
		return fmt.Errorf("oci archive: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := WriteLayout(tmp, imgs, refName); err != nil {
		return fmt.Errorf("oci archive: %w", err)
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == tmp {
			return err
		}
		rel, err := filepath.Rel(tmp, p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: created, Mode: 0o644, Typeflag: tar.TypeReg}
		if d.IsDir() {
			hdr.Name += "/"
			hdr.Mode, hdr.Typeflag = 0o755, tar.TypeDir
			return tw.WriteHeader(hdr)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		hdr.Size = st.Size()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return fmt.Errorf("oci archive: %w", err)
	}
	return nil
}

// WriteDockerArchive writes one image as a docker-archive tar, the form
// docker load and podman load take, tagged ref (for instance
// "example.com/app:latest").
func WriteDockerArchive(w io.Writer, imgs []*Image, ref string) error {
	if len(imgs) != 1 {
		if len(imgs) == 0 {
			return ErrNoImages
		}
		return fmt.Errorf("docker archive: holds one architecture, got %d", len(imgs))
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("docker archive: %w", err)
	}
	if err := tarball.Write(tag, imgs[0].img, w); err != nil {
		return fmt.Errorf("docker archive: %w", err)
	}
	return nil
}

// PushOptions say how [Push] reaches a registry. A nil *PushOptions means
// the zero value.
type PushOptions struct {
	// Keychain finds credentials; nil means [Keychain] with no GitLab
	// variables (the docker config file only).
	Keychain authn.Keychain
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Insecure allows plain http to a registry not on a loopback or
	// private address.
	Insecure bool
	// SBOM, when set, attaches each image's SBOM ([WriteSBOM] with these
	// options) as an OCI artifact whose subject is the image: registries
	// list it among the image's referrers (or under the sha256-HEX tag
	// where they have no referrers API).
	SBOM *SBOMOptions
}

// Push uploads imgs (an index for several) to the registry reference ref
// and returns the digest pushed. Blobs the registry already has are not
// uploaded again. With opts.SBOM set, the SBOMs follow.
func Push(ctx context.Context, ref string, imgs []*Image, opts *PushOptions) (v1.Hash, error) {
	if opts == nil {
		opts = &PushOptions{}
	}
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	t, err := Index(imgs)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	kc := opts.Keychain
	if kc == nil {
		kc = Keychain(nil)
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if opts.Transport != nil {
		ropts = append(ropts, remote.WithTransport(opts.Transport))
	}
	var h v1.Hash
	switch t := t.(type) {
	case v1.Image:
		if h, err = t.Digest(); err == nil {
			err = remote.Write(r, t, ropts...)
		}
	case v1.ImageIndex:
		if h, err = t.Digest(); err == nil {
			err = remote.WriteIndex(r, t, ropts...)
		}
	}
	if err == nil && opts.SBOM != nil {
		err = attachSBOMs(ctx, r.Context(), imgs, opts.SBOM, ropts)
	}
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return h, nil
}
