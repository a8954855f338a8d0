package image_test

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/apkit-dev/apkit/pkg/apk"
	"github.com/apkit-dev/apkit/pkg/image"
	"github.com/apkit-dev/apkit/pkg/install"
)

var epoch = time.Unix(1700000000, 0).UTC()

func appPackages() []pkg {
	return []pkg{
		{name: "base", version: "1.0-r0", files: []file{
			{path: "etc/"},
			{path: "etc/motd", content: "Welcome!\n"},
			{path: "etc/secret", content: "s3cret\n", mode: 0o600, owner: &apk.Owner{Uid: 100, Gid: 101}},
			{path: "usr/bin/"},
			{path: "usr/bin/tool", content: "#!/bin/sh\n", mode: 0o755},
			{path: "usr/bin/tool2", content: "=>usr/bin/tool"},
			{path: "bin", content: "->usr/bin"},
		}},
		{name: "app", version: "2.3-r1", files: []file{
			{path: "srv/"},
			{path: "srv/index.html", content: "<h1>hi</h1>\n"},
		}},
	}
}

func build(t testing.TB, root string, opts *image.Options) *image.Image {
	t.Helper()
	im, err := image.Build(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	return im
}

func digest(t testing.TB, im *image.Image) v1.Hash {
	t.Helper()
	h, err := im.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// layerEntries reads the image's only layer back.
func layerEntries(t *testing.T, im *image.Image) []*tar.Header {
	t.Helper()
	layers, err := im.V1().Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var hdrs []*tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hdrs = append(hdrs, h)
	}
	return hdrs
}

// Two installs of the same plan into different roots, at different
// times, give the same image digest; another SOURCE_DATE_EPOCH gives
// another.
func TestReproducible(t *testing.T) {
	t.Parallel()
	opts := &image.Options{Created: epoch, Config: image.Config{Entrypoint: []string{"/usr/bin/tool"}}}
	a := build(t, installRoot(t, []string{"app"}, appPackages()...), opts)
	rootB := installRoot(t, []string{"app"}, appPackages()...)
	// Disk times must not matter.
	if err := os.Chtimes(filepath.Join(rootB, "etc", "motd"), time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	b := build(t, rootB, opts)
	da, db := digest(t, a), digest(t, b)
	if da != db {
		t.Errorf("two builds of the same plan: %s and %s", da, db)
	}
	t.Logf("digest %s", da)
	c := build(t, rootB, &image.Options{Created: epoch.Add(time.Second), Config: opts.Config})
	if digest(t, c) == da {
		t.Errorf("another SOURCE_DATE_EPOCH gave the same digest %s", da)
	}
}

func TestLayer(t *testing.T) {
	t.Parallel()
	root := installRoot(t, []string{"app"}, appPackages()...)
	// A file apk's database does not know keeps its disk mode.
	if err := os.WriteFile(filepath.Join(root, "etc", "local"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	// The database claims another owner and mode than the disk has.
	if err := os.Chmod(filepath.Join(root, "etc", "secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	im := build(t, root, &image.Options{Created: epoch})
	hdrs := layerEntries(t, im)
	type entry struct {
		Name     string
		Type     byte
		Mode     int64
		UID, GID int
		Link     string
	}
	got := map[string]entry{}
	var names []string
	for _, h := range hdrs {
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: time %v, want %v", h.Name, h.ModTime, epoch)
		}
		names = append(names, h.Name)
		got[h.Name] = entry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname}
	}
	want := map[string]entry{
		"bin":            {"bin", tar.TypeSymlink, 0o777, 0, 0, "usr/bin"},
		"etc/":           {"etc/", tar.TypeDir, 0o755, 0, 0, ""},
		"etc/motd":       {"etc/motd", tar.TypeReg, 0o644, 0, 0, ""},
		"etc/secret":     {"etc/secret", tar.TypeReg, 0o600, 100, 101, ""},
		"etc/local":      {"etc/local", tar.TypeReg, 0o640, 0, 0, ""},
		"usr/bin/tool":   {"usr/bin/tool", tar.TypeReg, 0o755, 0, 0, ""},
		"usr/bin/tool2":  {"usr/bin/tool2", tar.TypeLink, 0o755, 0, 0, "usr/bin/tool"},
		"srv/index.html": {"srv/index.html", tar.TypeReg, 0o644, 0, 0, ""},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, got[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if _, ok := got[install.InstalledFile]; !ok {
		t.Errorf("apk's database %s is not in the layer", install.InstalledFile)
	}
	// Parents come before children, siblings in byte order.
	for i := 1; i < len(names); i++ {
		a, b := strings.TrimSuffix(names[i-1], "/"), strings.TrimSuffix(names[i], "/")
		if filepath.Dir(a) == filepath.Dir(b) && a >= b {
			t.Errorf("entries out of order: %s before %s", names[i-1], names[i])
		}
	}
}

func TestConfigAndAnnotations(t *testing.T) {
	t.Parallel()
	root := installRoot(t, []string{"app"}, appPackages()...)
	im := build(t, root, &image.Options{Created: epoch, Config: image.Config{
		Entrypoint:   []string{"/usr/bin/tool"},
		Cmd:          []string{"--serve"},
		Env:          []string{"GREETING=hi"},
		WorkingDir:   "/srv",
		User:         "100:101",
		ExposedPorts: []string{"8080", "53/udp"},
		Labels:       map[string]string{"team": "web"},
		Annotations:  map[string]string{"org.opencontainers.image.vendor": "Example"},
	}})
	cf, err := im.V1().ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Entrypoint:   []string{"/usr/bin/tool"},
		Cmd:          []string{"--serve"},
		Env:          []string{image.DefaultPath, "GREETING=hi"},
		WorkingDir:   "/srv",
		User:         "100:101",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}},
		Labels:       map[string]string{"team": "web"},
	}
	if diff := cmp.Diff(want, cf.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cf.Architecture != "amd64" || cf.OS != "linux" || !cf.Created.Equal(epoch) {
		t.Errorf("platform %s/%s created %v", cf.OS, cf.Architecture, cf.Created)
	}
	m, err := im.V1().Manifest()
	if err != nil {
		t.Fatal(err)
	}
	wantAnn := map[string]string{
		"org.opencontainers.image.created":     "2023-11-14T22:13:20Z",
		"org.opencontainers.image.title":       "app",
		"org.opencontainers.image.version":     "2.3-r1",
		"org.opencontainers.image.description": "test package app",
		"org.opencontainers.image.url":         "https://example.com/app",
		"org.opencontainers.image.licenses":    "MIT",
		"org.opencontainers.image.revision":    "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.vendor":      "Example",
	}
	if diff := cmp.Diff(wantAnn, m.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %s", m.MediaType)
	}
}

func TestSBOM(t *testing.T) {
	t.Parallel()
	root := installRoot(t, []string{"app"}, appPackages()...)
	im := build(t, root, &image.Options{Created: epoch})
	var a, b strings.Builder
	if err := image.WriteSBOM(&a, im, &image.SBOMOptions{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if err := image.WriteSBOM(&b, build(t, root, &image.Options{Created: epoch}), &image.SBOMOptions{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("two SBOMs of one root differ")
	}
	var doc struct {
		SPDXVersion  string `json:"spdxVersion"`
		Comment      string `json:"comment"`
		CreationInfo struct {
			Created string `json:"created"`
		} `json:"creationInfo"`
		Packages []struct {
			Name         string `json:"name"`
			SPDXID       string `json:"SPDXID"`
			VersionInfo  string `json:"versionInfo"`
			License      string `json:"licenseDeclared"`
			SourceInfo   string `json:"sourceInfo"`
			Checksums    []struct{ Algorithm, ChecksumValue string }
			ExternalRefs []struct{ ReferenceLocator string }
		} `json:"packages"`
		Relationships []struct {
			SpdxElementID, RelationshipType, RelatedSpdxElement string
		} `json:"relationships"`
	}
	if err := json.Unmarshal([]byte(a.String()), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.CreationInfo.Created != "2023-11-14T22:13:20Z" {
		t.Errorf("version %q created %q", doc.SPDXVersion, doc.CreationInfo.Created)
	}
	if doc.Comment != "apk repositories: https://packages.example.com/main" {
		t.Errorf("comment %q", doc.Comment)
	}
	db, err := install.ReadDatabase(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Packages) != 3 {
		t.Fatalf("%d packages, want the image and 2", len(doc.Packages))
	}
	for _, p := range doc.Packages[1:] {
		rec := db.Find(p.Name).Record
		if p.VersionInfo != rec.Version || p.License != "MIT" ||
			p.SourceInfo != "origin "+p.Name+", commit 0123456789abcdef0123456789abcdef01234567" {
			t.Errorf("%s: %+v", p.Name, p)
		}
		if len(p.Checksums) != 1 || p.Checksums[0].Algorithm != "SHA1" || len(p.Checksums[0].ChecksumValue) != 40 {
			t.Errorf("%s: checksums %+v", p.Name, p.Checksums)
		}
		if len(p.ExternalRefs) != 1 || p.ExternalRefs[0].ReferenceLocator != "pkg:apk/alpine/"+p.Name+"@"+rec.Version+"?arch=x86_64" {
			t.Errorf("%s: refs %+v", p.Name, p.ExternalRefs)
		}
	}
	if len(doc.Relationships) != 3 || doc.Relationships[0].RelationshipType != "DESCRIBES" {
		t.Errorf("relationships %+v", doc.Relationships)
	}
}

// A directory that no apk made is an image too: no database, no
// package annotations.
func TestPlainDirectory(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "hello"), []byte("hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	im := build(t, root, &image.Options{Arch: "aarch64"})
	cf, err := im.V1().ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || cf.Variant != "v8" || cf.Created.Unix() != 0 {
		t.Errorf("arch %s variant %s created %v", cf.Architecture, cf.Variant, cf.Created)
	}
	if _, err := image.Build(filepath.Join(root, "hello"), nil); err == nil {
		t.Error("a file as the root: no error")
	}
	if _, err := image.Build(root, &image.Options{Arch: "sparc"}); err == nil {
		t.Error("an unknown arch: no error")
	}
}

func TestXattrs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p := filepath.Join(root, "f")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(p, "user.b", []byte("2"), 0); err != nil {
		t.Skipf("extended attributes not supported here: %v", err)
	}
	if err := unix.Setxattr(p, "user.a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	hdrs := layerEntries(t, build(t, root, nil))
	want := map[string]string{"SCHILY.xattr.user.a": "1", "SCHILY.xattr.user.b": "2"}
	if diff := cmp.Diff(want, hdrs[0].PAXRecords); diff != "" {
		t.Errorf("xattrs (-want +got):\n%s", diff)
	}
}

// Without SOURCE_DATE_EPOCH, the image is as old as its newest package.
func TestCreatedFromPackages(t *testing.T) {
	t.Parallel()
	im := build(t, installRoot(t, []string{"app"}, appPackages()...), nil)
	if want := time.Unix(1700000000, 0).UTC(); !im.Created.Equal(want) {
		t.Errorf("created %v, want the packages' build time %v", im.Created, want)
	}
}

// Writing a layout again under the same name replaces the image there;
// another name adds one.
func TestLayoutReplaces(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	a := build(t, root, &image.Options{Created: epoch})
	b := build(t, root, &image.Options{Created: epoch.Add(time.Hour)})
	for _, w := range []struct {
		im   *image.Image
		name string
	}{{a, "latest"}, {b, "latest"}, {a, "old"}} {
		if err := image.WriteLayout(dir, []*image.Image{w.im}, w.name); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range idx.Manifests {
		got[m.Annotations[image.RefNameAnnotation]] = m.Digest.String()
	}
	want := map[string]string{"latest": digest(t, b).String(), "old": digest(t, a).String()}
	if diff := cmp.Diff(want, got); diff != "" || len(idx.Manifests) != 2 {
		t.Errorf("index.json (-want +got):\n%s\n%s", diff, data)
	}
}

// Accounts and paths are written into the root, and the layer gives them
// the owners and modes asked for.
func TestCustomize(t *testing.T) {
	t.Parallel()
	root := installRoot(t, []string{"app"}, appPackages()...)
	owners, err := image.Customize(root, &image.Customization{
		Groups: []image.Group{{Name: "nonroot", GID: 65532}},
		Users:  []image.User{{Name: "nonroot", UID: 65532, GID: 65532}},
		Paths: []image.Path{
			{Path: "/data", Type: "directory", UID: 65532, GID: 65532, Mode: 0o700},
			{Path: "/data/ready", Type: "empty-file", UID: 65532, GID: 65532},
			{Path: "/usr/bin/app", Type: "symlink", Source: "tool"},
			{Path: "/srv", Type: "permissions", UID: 65532, GID: 65532, Recursive: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := image.Customize(root, &image.Customization{Paths: []image.Path{{Path: "../../x", Type: "directory"}}}); err == nil {
		t.Error("a path out of the root: no error")
	}
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	if err != nil || string(passwd) != "nonroot:x:65532:65532:Linux User,,,:/home/nonroot:/bin/sh\n" {
		t.Errorf("/etc/passwd: %q %v", passwd, err)
	}
	group, err := os.ReadFile(filepath.Join(root, "etc", "group"))
	if err != nil || string(group) != "nonroot:x:65532:\n" {
		t.Errorf("/etc/group: %q %v", group, err)
	}
	hdrs := layerEntries(t, build(t, root, &image.Options{Created: epoch, Owners: owners}))
	type entry struct {
		Type     byte
		Mode     int64
		UID, GID int
		Link     string
	}
	got := map[string]entry{}
	for _, h := range hdrs {
		got[h.Name] = entry{h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname}
	}
	want := map[string]entry{
		"home/nonroot/":  {tar.TypeDir, 0o755, 65532, 65532, ""},
		"data/":          {tar.TypeDir, 0o700, 65532, 65532, ""},
		"data/ready":     {tar.TypeReg, 0o644, 65532, 65532, ""},
		"usr/bin/app":    {tar.TypeSymlink, 0o777, 0, 0, "tool"},
		"srv/":           {tar.TypeDir, 0o755, 65532, 65532, ""},
		"srv/index.html": {tar.TypeReg, 0o644, 65532, 65532, ""},
		"etc/passwd":     {tar.TypeReg, 0o644, 0, 0, ""},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, got[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
