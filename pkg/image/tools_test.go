package image_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apkit-dev/apkit/pkg/image"
	"github.com/apkit-dev/apkit/pkg/sandbox/sandboxtest"
)

// skopeoInspect is what skopeo inspect prints, in part.
type skopeoInspect struct {
	Digest       string
	Architecture string
	Os           string
	Layers       []string
	Env          []string
	Labels       map[string]string
}

func inspect(t *testing.T, args ...string) skopeoInspect {
	t.Helper()
	out := run(t, requireTool(t, "skopeo", "skopeo"), append([]string{"inspect"}, args...)...)
	var got skopeoInspect
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("skopeo inspect %s: %v\n%s", args, err, out)
	}
	return got
}

func writeFile(t *testing.T, name string, write func(f *os.File) error) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// skopeo reads the OCI archive and the docker archive apkit writes.
func TestSkopeoReadsArchives(t *testing.T) {
	t.Parallel()
	requireTool(t, "skopeo", "skopeo")
	im := build(t, installRoot(t, []string{"app"}, appPackages()...), &image.Options{Created: epoch,
		Config: image.Config{Env: []string{"A=1"}, Labels: map[string]string{"team": "web"}}})
	want := digest(t, im)
	dir := t.TempDir()
	oci := filepath.Join(dir, "app.tar")
	writeFile(t, oci, func(f *os.File) error { return image.WriteOCIArchive(f, []*image.Image{im}, "latest", epoch) })
	got := inspect(t, "oci-archive:"+oci)
	if got.Digest != want.String() || got.Architecture != "amd64" || got.Os != "linux" || len(got.Layers) != 1 {
		t.Errorf("oci-archive: %+v, want digest %s", got, want)
	}
	if got.Labels["team"] != "web" {
		t.Errorf("oci-archive labels %v", got.Labels)
	}
	docker := filepath.Join(dir, "docker.tar")
	writeFile(t, docker, func(f *os.File) error {
		return image.WriteDockerArchive(f, []*image.Image{im}, "example.com/app:1")
	})
	got = inspect(t, "docker-archive:"+docker)
	if got.Architecture != "amd64" || len(got.Layers) != 1 || len(got.Env) != 2 || got.Env[1] != "A=1" {
		t.Errorf("docker-archive: %+v", got)
	}
	// The archive itself is reproducible.
	oci2 := filepath.Join(dir, "app2.tar")
	writeFile(t, oci2, func(f *os.File) error { return image.WriteOCIArchive(f, []*image.Image{im}, "latest", epoch) })
	a, _ := os.ReadFile(oci)
	b, _ := os.ReadFile(oci2)
	if !bytes.Equal(a, b) {
		t.Error("two OCI archives of one image differ")
	}
}

// An image of a root holding a static busybox unpacks with umoci and
// runs, under bubblewrap, as its config says.
func TestRunnable(t *testing.T) {
	t.Parallel()
	umoci := requireTool(t, "umoci", "umoci")
	bb := staticBusybox(t)
	sandboxtest.RequireBwrap(t)
	root := installRoot(t, []string{"hello"}, pkg{name: "hello", version: "1.0-r0",
		files: []file{{path: "srv/"}, {path: "srv/data", content: "hello from the image\n"}},
		host:  map[string]string{"bin/busybox": bb},
	})
	im := build(t, root, &image.Options{Created: epoch, Config: image.Config{
		Entrypoint: []string{"/bin/busybox", "sh", "-c"},
		Cmd:        []string{`echo "$GREETING"; pwd; /bin/busybox cat data`},
		Env:        []string{"GREETING=hi there"},
		WorkingDir: "/srv",
	}})
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	if err := image.WriteLayout(layout, []*image.Image{im}, "latest"); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	args := []string{"unpack", "--image", layout + ":latest", bundle}
	if os.Geteuid() != 0 {
		args = append([]string{"unpack", "--rootless"}, args[1:]...)
	}
	run(t, umoci, args...)
	var spec struct {
		Process struct {
			Args []string
			Env  []string
			Cwd  string
		}
	}
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	bw := []string{"--unshare-all", "--die-with-parent", "--bind", filepath.Join(bundle, "rootfs"), "/",
		"--proc", "/proc", "--dev", "/dev", "--chdir", spec.Process.Cwd, "--clearenv"}
	if os.Geteuid() != 0 {
		bw = append(bw, "--uid", "0", "--gid", "0")
	}
	for _, e := range spec.Process.Env {
		k, v, _ := strings.Cut(e, "=")
		bw = append(bw, "--setenv", k, v)
	}
	bw = append(bw, "--")
	bw = append(bw, spec.Process.Args...)
	out := run(t, "bwrap", bw...)
	if want := "hi there\n/srv\nhello from the image\n"; out != want {
		t.Errorf("the image's entrypoint printed %q, want %q", out, want)
	}
}

// registry starts Debian's docker-registry on a free port of 127.0.0.1
// with its storage in a temporary directory, and returns host:port.
func registry(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "docker-registry", "docker-registry")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "storage"), addr)
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgFile)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry on %s did not start: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// uploads counts the blob uploads a push starts.
type uploads struct {
	n atomic.Int64
}

func (u *uploads) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") {
		u.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A push to a real registry reads back with skopeo, with the digest
// apkit printed; pushing the unchanged image again uploads no blob.
func TestPush(t *testing.T) {
	t.Parallel()
	skopeo := requireTool(t, "skopeo", "skopeo")
	addr := registry(t)
	im := build(t, installRoot(t, []string{"app"}, appPackages()...), &image.Options{Created: epoch})
	up := &uploads{}
	ref := addr + "/test/app:1"
	sbom := &image.SBOMOptions{Name: "app"}
	h, err := image.Push(t.Context(), ref, []*image.Image{im}, &image.PushOptions{Transport: up, SBOM: sbom})
	if err != nil {
		t.Fatal(err)
	}
	if h != digest(t, im) {
		t.Errorf("push returned %s, image digest %s", h, digest(t, im))
	}
	if n := up.n.Load(); n != 4 {
		t.Errorf("first push started %d blob uploads, want 4 (layer, config, the SBOM and its empty config)", n)
	}

	// The SBOM is the image's referrer: this registry has no referrers
	// API, so it is listed under the sha256-HEX tag.
	raw := run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+addr+"/test/app:sha256-"+h.Hex)
	var refs struct {
		Manifests []struct {
			Digest       string
			ArtifactType string
		}
	}
	if err := json.Unmarshal([]byte(raw), &refs); err != nil {
		t.Fatal(err)
	}
	if len(refs.Manifests) != 1 || refs.Manifests[0].ArtifactType != image.SBOMMediaType {
		t.Fatalf("referrers of %s: %s", h, raw)
	}
	art := run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+addr+"/test/app@"+refs.Manifests[0].Digest)
	var am struct {
		ArtifactType string
		Subject      struct{ Digest string }
		Layers       []struct{ Digest string }
	}
	if err := json.Unmarshal([]byte(art), &am); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := image.WriteSBOM(&want, im, sbom); err != nil {
		t.Fatal(err)
	}
	if am.Subject.Digest != h.String() || len(am.Layers) != 1 {
		t.Fatalf("sbom artifact: %s", art)
	}
	resp, err := http.Get("http://" + addr + "/v2/test/app/blobs/" + am.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(blob, want.Bytes()) {
		t.Errorf("the SBOM in the registry is not the one written (%v):\n%s", err, blob)
	}
	got := inspect(t, "--tls-verify=false", "docker://"+ref)
	if got.Digest != h.String() || len(got.Layers) != 1 {
		t.Errorf("skopeo inspect: %+v, want digest %s", got, h)
	}
	pulled := filepath.Join(t.TempDir(), "pulled")
	run(t, skopeo, "copy", "--src-tls-verify=false", "docker://"+ref, "oci:"+pulled+":x")
	if got := inspect(t, "oci:"+pulled+":x"); got.Digest != h.String() {
		t.Errorf("pulled back digest %s, want %s", got.Digest, h)
	}

	// Again, from a new build of the same root: nothing to upload.
	up2 := &uploads{}
	again := build(t, installRoot(t, []string{"app"}, appPackages()...), &image.Options{Created: epoch})
	if _, err := image.Push(t.Context(), ref, []*image.Image{again}, &image.PushOptions{Transport: up2, SBOM: sbom}); err != nil {
		t.Fatal(err)
	}
	if n := up2.n.Load(); n != 0 {
		t.Errorf("pushing an unchanged image started %d blob uploads, want 0", n)
	}
}

// Images of two architectures push as one multi-arch index.
func TestPushIndex(t *testing.T) {
	t.Parallel()
	skopeo := requireTool(t, "skopeo", "skopeo")
	addr := registry(t)
	root := installRoot(t, []string{"app"}, appPackages()...)
	amd := build(t, root, &image.Options{Created: epoch})
	arm := build(t, root, &image.Options{Created: epoch, Arch: "aarch64"})
	ref := addr + "/test/multi:1"
	h, err := image.Push(t.Context(), ref, []*image.Image{amd, arm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := image.Digest([]*image.Image{amd, arm})
	if err != nil || h != want {
		t.Errorf("push returned %s, index digest %s (%v)", h, want, err)
	}
	raw := run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
	var idx struct {
		MediaType string
		Manifests []struct {
			Digest   string
			Platform struct{ Architecture string }
		}
	}
	if err := json.Unmarshal([]byte(raw), &idx); err != nil {
		t.Fatal(err)
	}
	if idx.MediaType != "application/vnd.oci.image.index.v1+json" || len(idx.Manifests) != 2 ||
		idx.Manifests[0].Platform.Architecture != "amd64" || idx.Manifests[1].Platform.Architecture != "arm64" ||
		idx.Manifests[0].Digest != digest(t, amd).String() {
		t.Errorf("index: %s", raw)
	}
	got := inspect(t, "--tls-verify=false", "--override-arch", "arm64", "docker://"+ref)
	if got.Architecture != "arm64" || got.Digest != h.String() {
		t.Errorf("arm64 from the index: %+v, want arm64 (digest %s)", got, h)
	}
}
