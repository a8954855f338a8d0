package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyJSON is the OCI empty descriptor's content, the config of an
// artifact that has none.
var emptyJSON = []byte("{}")

// artifact is an OCI 1.1 artifact manifest (an image manifest with an
// artifactType and a subject).
type artifact struct {
	raw []byte
}

func (a artifact) RawManifest() ([]byte, error)        { return a.raw, nil }
func (a artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// sbomArtifact returns the SBOM as an artifact whose subject is im, and
// its blobs.
func sbomArtifact(im *Image, sbom []byte) (artifact, []v1.Layer, error) {
	subject, err := descriptor(im)
	if err != nil {
		return artifact{}, nil, err
	}
	cfg := static.NewLayer(emptyJSON, types.OCIEmptyJSON)
	doc := static.NewLayer(sbom, SBOMMediaType)
	cfgDigest, _ := cfg.Digest()
	docDigest, _ := doc.Digest()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType: types.OCIEmptyJSON,
			Digest:    cfgDigest,
			Size:      int64(len(emptyJSON)),
			Data:      emptyJSON,
		},
		Layers: []v1.Descriptor{{
			MediaType:   SBOMMediaType,
			Digest:      docDigest,
			Size:        int64(len(sbom)),
			Annotations: map[string]string{"org.opencontainers.image.title": "sbom.spdx.json"},
		}},
		Subject:     &subject,
		Annotations: map[string]string{"org.opencontainers.image.created": im.Created.Format(time.RFC3339)},
	}
	// v1.Manifest has no artifactType: add it to the JSON.
	raw, err := json.Marshal(struct {
		v1.Manifest
		ArtifactType string `json:"artifactType"`
	}{m, SBOMMediaType})
	if err != nil {
		return artifact{}, nil, err
	}
	return artifact{raw}, []v1.Layer{cfg, doc}, nil
}

func descriptor(im *Image) (v1.Descriptor, error) {
	raw, err := im.img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := im.img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw))}, nil
}

// attachSBOMs pushes each image's SBOM as an artifact referring to it
// (found through the registry's referrers API, or the sha256-HEX tag
// where the registry has none).
func attachSBOMs(ctx context.Context, repo name.Repository, imgs []*Image, sopts *SBOMOptions, ropts []remote.Option) error {
	for _, im := range imgs {
		var buf bytes.Buffer
		if err := WriteSBOM(&buf, im, sopts); err != nil {
			return err
		}
		a, blobs, err := sbomArtifact(im, buf.Bytes())
		if err != nil {
			return fmt.Errorf("sbom of %s: %w", im.Arch, err)
		}
		for _, b := range blobs {
			if err := remote.WriteLayer(repo, b, ropts...); err != nil {
				return fmt.Errorf("sbom of %s: %w", im.Arch, err)
			}
		}
		h, _, err := v1.SHA256(bytes.NewReader(a.raw))
		if err != nil {
			return err
		}
		if err := remote.Put(repo.Digest(h.String()), a, ropts...); err != nil {
			return fmt.Errorf("sbom of %s: %w", im.Arch, err)
		}
	}
	return nil
}
