package image

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// SBOMMediaType is the media type of the SBOM [WriteSBOM] writes.
const SBOMMediaType = "application/spdx+json"

// SPDX 2.3 document types: only the fields WriteSBOM fills.
type (
	spdxDocument struct {
		SPDXVersion       string             `json:"spdxVersion"`
		DataLicense       string             `json:"dataLicense"`
		SPDXID            string             `json:"SPDXID"`
		Name              string             `json:"name"`
		DocumentNamespace string             `json:"documentNamespace"`
		CreationInfo      spdxCreationInfo   `json:"creationInfo"`
		Comment           string             `json:"comment,omitempty"`
		Packages          []spdxPackage      `json:"packages"`
		Relationships     []spdxRelationship `json:"relationships"`
	}
	spdxCreationInfo struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	}
	spdxPackage struct {
		Name             string            `json:"name"`
		SPDXID           string            `json:"SPDXID"`
		VersionInfo      string            `json:"versionInfo,omitempty"`
		Supplier         string            `json:"supplier,omitempty"`
		DownloadLocation string            `json:"downloadLocation"`
		FilesAnalyzed    bool              `json:"filesAnalyzed"`
		Checksums        []spdxChecksum    `json:"checksums,omitempty"`
		Homepage         string            `json:"homepage,omitempty"`
		SourceInfo       string            `json:"sourceInfo,omitempty"`
		LicenseConcluded string            `json:"licenseConcluded"`
		LicenseDeclared  string            `json:"licenseDeclared"`
		CopyrightText    string            `json:"copyrightText"`
		Description      string            `json:"description,omitempty"`
		ExternalRefs     []spdxExternalRef `json:"externalRefs,omitempty"`
		PrimaryPurpose   string            `json:"primaryPackagePurpose,omitempty"`
	}
	spdxChecksum struct {
		Algorithm string `json:"algorithm"`
		Value     string `json:"checksumValue"`
	}
	spdxExternalRef struct {
		Category string `json:"referenceCategory"`
		Type     string `json:"referenceType"`
		Locator  string `json:"referenceLocator"`
	}
	spdxRelationship struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	}
)

// SBOMOptions name what the SBOM describes. A nil *SBOMOptions means the
// zero value.
type SBOMOptions struct {
	// Name names the image in the document ("" means "image").
	Name string
	// Distro is the purl namespace of the packages ("" means "alpine").
	Distro string
}

var spdxIDUnsafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9.-]+`) })

// WriteSBOM writes an SPDX 2.3 JSON document of the packages installed in
// im's root: for each its name, version, origin and commit, license,
// description, URL, the SHA-1 of its control segment (apk's C: identity)
// and a package URL; the root's repositories are in the document's
// comment. The same image gives the same bytes.
func WriteSBOM(w io.Writer, im *Image, opts *SBOMOptions) error {
	if opts == nil {
		opts = &SBOMOptions{}
	}
	title := opts.Name
	if title == "" {
		title = "image"
	}
	distro := opts.Distro
	if distro == "" {
		distro = "alpine"
	}
	diffID, _ := im.layer.DiffID()
	doc := &spdxDocument{
		SPDXVersion: "SPDX-2.3",
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		Name:        title,
		// The layer's content names the document: the same files, the
		// same namespace.
		DocumentNamespace: "https://spdx.apkit.dev/image/" + im.Arch + "/" + diffID.Hex,
		CreationInfo: spdxCreationInfo{
			Created:  im.Created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: apkit"},
		},
	}
	if len(im.Repositories) > 0 {
		doc.Comment = "apk repositories: " + strings.Join(im.Repositories, " ")
	}
	imageID := "SPDXRef-Image"
	doc.Packages = append(doc.Packages, spdxPackage{
		Name:             title,
		SPDXID:           imageID,
		DownloadLocation: "NOASSERTION",
		Checksums:        []spdxChecksum{{Algorithm: "SHA256", Value: diffID.Hex}},
		LicenseConcluded: "NOASSERTION",
		LicenseDeclared:  "NOASSERTION",
		CopyrightText:    "NOASSERTION",
		Description:      "the image's root file system (the checksum is its layer's uncompressed digest)",
		PrimaryPurpose:   "CONTAINER",
	})
	doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", imageID})
	if im.Database != nil {
		for _, p := range im.Database.Packages {
			r := p.Record
			id := "SPDXRef-Package-" + spdxIDUnsafe().ReplaceAllString(r.Name+"-"+r.Version, "-")
			sp := spdxPackage{
				Name:             r.Name,
				SPDXID:           id,
				VersionInfo:      r.Version,
				DownloadLocation: "NOASSERTION",
				Homepage:         r.URL,
				LicenseConcluded: "NOASSERTION",
				LicenseDeclared:  orNoAssertion(r.License),
				CopyrightText:    "NOASSERTION",
				Description:      r.Description,
				PrimaryPurpose:   "LIBRARY",
			}
			if r.Maintainer != "" {
				sp.Supplier = "Person: " + r.Maintainer
			}
			if sum, ok := q1SHA1(r.Checksum); ok {
				sp.Checksums = []spdxChecksum{{Algorithm: "SHA1", Value: sum}}
			}
			var src []string
			if r.Origin != "" {
				src = append(src, "origin "+r.Origin)
			}
			if r.Commit != "" {
				src = append(src, "commit "+r.Commit)
			}
			sp.SourceInfo = strings.Join(src, ", ")
			sp.ExternalRefs = []spdxExternalRef{{
				Category: "PACKAGE-MANAGER",
				Type:     "purl",
				Locator:  purl(distro, r.Name, r.Version, r.Arch, r.Origin),
			}}
			doc.Packages = append(doc.Packages, sp)
			doc.Relationships = append(doc.Relationships, spdxRelationship{imageID, "CONTAINS", id})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("sbom: %w", err)
	}
	return nil
}

func orNoAssertion(s string) string {
	if strings.TrimSpace(s) == "" {
		return "NOASSERTION"
	}
	return s
}

// q1SHA1 turns apk's "Q1"+base64 SHA-1 identity into hex.
func q1SHA1(c string) (string, bool) {
	b64, ok := strings.CutPrefix(c, "Q1")
	if !ok {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != 20 {
		return "", false
	}
	return hex.EncodeToString(b), true
}

func purl(distro, name, version, arch, origin string) string {
	s := "pkg:apk/" + url.PathEscape(distro) + "/" + url.PathEscape(name) + "@" + url.PathEscape(version)
	var q []string
	if arch != "" {
		q = append(q, "arch="+url.QueryEscape(arch))
	}
	if origin != "" && origin != name {
		q = append(q, "origin="+url.QueryEscape(origin))
	}
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s
}
