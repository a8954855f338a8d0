package resolve

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apkit-dev/apkit/pkg/alpinetest"
	"github.com/apkit-dev/apkit/pkg/index"
	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
)

// The expectations in testdata are what apk-tools 2.14 prints; -update
// rewrites them by running the apk binary -apk names (see testdata/README.md).
var (
	update = flag.Bool("update", false, "rewrite the expectations in testdata from the apk binary given by -apk")
	apkBin = flag.String("apk", "", "an apk-tools 2.14 binary; with -update, its output becomes the expectations")
)

// apkRepo is a repository directory for apk: <dir>/<arch>/APKINDEX.tar.gz.
type apkRepo struct {
	dir, tag string
}

// runApk runs `apk APPLET --simulate args` (add, or del) in a fresh root
// with the given repositories, installed database and world file, and
// returns what apk printed: stdout, then stderr.
func runApk(t *testing.T, arch string, repos []apkRepo, installed, world, applet string, args []string) string {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range repos {
		if r.tag != "" {
			lines = append(lines, "@"+r.tag+" "+r.dir)
		} else {
			lines = append(lines, r.dir)
		}
	}
	reposFile := filepath.Join(dir, "repositories")
	if err := os.WriteFile(reposFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--root", root, "--arch", arch, "--repositories-file", reposFile,
		"--no-network", "--no-cache", "--allow-untrusted"}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(*apkBin, append(common, "add", "--initdb")...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("apk add --initdb: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if installed != "" {
		if err := os.WriteFile(filepath.Join(root, "lib/apk/db/installed"), []byte(installed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/apk/world"), []byte(world), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	cmd = exec.Command(*apkBin, append(append(common, applet, "--simulate"), args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var exitErr *exec.ExitError
	if err := cmd.Run(); err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("apk %s --simulate: %v", applet, err)
	}
	return stdout.String() + stderr.String()
}

// apkArgs turns `apk add` arguments into a Request.
func apkArgs(t *testing.T, args []string, world string) Request {
	t.Helper()
	req := Request{World: strings.Fields(world)}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--virtual" || a == "-t":
			i++
			req.Virtual = args[i]
		case strings.HasPrefix(a, "-"):
			t.Fatalf("unknown apk add option %q", a)
		default:
			req.Add = append(req.Add, a)
		}
	}
	return req
}

// apkDelArgs turns `apk del` arguments into a Request.
func apkDelArgs(t *testing.T, args []string, world string) Request {
	t.Helper()
	req := Request{World: strings.Fields(world)}
	for _, a := range args {
		switch {
		case a == "-r" || a == "--rdepends":
			req.Rdepends = true
		case strings.HasPrefix(a, "-"):
			t.Fatalf("unknown apk del option %q", a)
		default:
			req.Del = append(req.Del, a)
		}
	}
	return req
}

// output renders a solve as apk prints it.
func output(plan *Plan, err error) string {
	var uerr *UnsatisfiableError
	switch {
	case errors.As(err, &uerr):
		return "ERROR: unable to select packages:\n" + uerr.Report
	case err != nil:
		return "error: " + err.Error() + "\n"
	}
	return strings.Join(append(plan.KeptLines(), plan.Lines()...), "\n") + "\n"
}

// readIndex reads a shared real index.
func readIndex(t testing.TB, name string) []*index.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(alpinetest.Dir(t), name, "APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix, err := index.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return ix.Records
}

// realIndexes are the shared real indexes the plans in testdata/real are
// made from, with their architectures.
var realIndexes = []struct{ name, arch string }{
	{"alpine-316", "x86_64"},
	{"alpine-317", "aarch64"},
}

// TestRealPlans solves, on Alpine's real indexes, every request in
// testdata/real/<index>.txtar and compares the result, line for line,
// with what apk-tools 2.14 printed for it.
func TestRealPlans(t *testing.T) {
	for _, ri := range realIndexes {
		t.Run(ri.name, func(t *testing.T) {
			recs := readIndex(t, ri.name)
			db, err := NewDB(Config{Arch: ri.arch, Repositories: []Repository{{Records: recs}}})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("testdata", "real", ri.name+".txtar")
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var repo string
			if *update {
				if *apkBin == "" {
					t.Fatal("-update needs -apk: the expectations come from apk-tools")
				}
				repo = t.TempDir()
				src, err := os.ReadFile(filepath.Join(alpinetest.Dir(t), ri.name, "APKINDEX.tar.gz"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(repo, ri.arch), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(repo, ri.arch, "APKINDEX.tar.gz"), src, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for i := range ar.Files {
				f := &ar.Files[i]
				args := strings.Fields(strings.TrimPrefix(f.Name, "add "))
				if *update {
					f.Data = []byte(runApk(t, ri.arch, []apkRepo{{dir: repo}}, "", "", "add", args))
				}
				got := output(db.Solve(apkArgs(t, args, "")))
				if diff := cmp.Diff(string(f.Data), got); diff != "" {
					t.Errorf("apk add %s (-apk +resolve):\n%s", strings.Join(args, " "), diff)
				}
			}
			if *update {
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// A scenario is a synthetic case: small indexes, an installed database, a
// world file and apk add's arguments, with what apk printed for them.
//
// Its txtar files: "args" (apk add's arguments on one line) or "del"
// (apk del's, for a scenario of apk del), "arch"
// (default x86_64), "repo" or "repo@TAG" (index text, one file per
// repository, in order), "installed" (the installed database's text),
// "world" and "want". Records without a C: get one made from their
// name and version.
type scenario struct {
	applet    string // add or del
	args      []string
	arch      string
	repos     []scenarioRepo
	installed []*index.Record
	instText  string
	world     string
	want      *txtar.File
}

type scenarioRepo struct {
	tag  string
	recs []*index.Record
}

func fillChecksums(recs []*index.Record) {
	for _, r := range recs {
		if r.Checksum == "" {
			sum := sha1.Sum([]byte(r.Name + "-" + r.Version))
			r.Checksum = index.Identity(sum[:])
		}
	}
}

func parseScenario(t *testing.T, ar *txtar.Archive) *scenario {
	t.Helper()
	sc := &scenario{arch: "x86_64", applet: "add"}
	for i := range ar.Files {
		f := &ar.Files[i]
		switch name := f.Name; {
		case name == "args":
			sc.args = strings.Fields(string(f.Data))
		case name == "del":
			sc.applet, sc.args = "del", strings.Fields(string(f.Data))
		case name == "arch":
			sc.arch = strings.TrimSpace(string(f.Data))
		case name == "repo" || strings.HasPrefix(name, "repo@"):
			recs, err := index.ParseText(f.Data)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fillChecksums(recs)
			sc.repos = append(sc.repos, scenarioRepo{tag: strings.TrimPrefix(strings.TrimPrefix(name, "repo"), "@"), recs: recs})
		case name == "installed":
			recs, err := index.ParseText(f.Data)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			fillChecksums(recs)
			sc.installed = recs
			b, err := index.AppendText(nil, recs)
			if err != nil {
				t.Fatal(err)
			}
			sc.instText = string(b)
		case name == "world":
			sc.world = string(f.Data)
		case name == "want":
			sc.want = f
		default:
			t.Fatalf("unknown section %q", name)
		}
	}
	if sc.want == nil {
		ar.Files = append(ar.Files, txtar.File{Name: "want"})
		sc.want = &ar.Files[len(ar.Files)-1]
	}
	return sc
}

// TestScenarios runs the synthetic cases of testdata/scenarios: one rule of
// apk's each, with what apk-tools 2.14 printed for them.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sc := parseScenario(t, ar)
			cfg := Config{Arch: sc.arch}
			for _, r := range sc.repos {
				cfg.Repositories = append(cfg.Repositories, Repository{Tag: r.tag, Records: r.recs})
			}
			for _, r := range sc.installed {
				tag := ""
				for _, f := range r.Extra {
					if f.Key == 's' {
						tag = strings.TrimPrefix(f.Value, "@")
					}
				}
				cfg.Installed = append(cfg.Installed, Installed{Record: r, Tag: tag})
			}
			if *update {
				if *apkBin == "" {
					t.Fatal("-update needs -apk: the expectations come from apk-tools")
				}
				dir := t.TempDir()
				var repos []apkRepo
				for i, r := range sc.repos {
					rd := filepath.Join(dir, fmt.Sprintf("repo%d", i))
					if err := os.MkdirAll(filepath.Join(rd, sc.arch), 0o755); err != nil {
						t.Fatal(err)
					}
					var buf bytes.Buffer
					if err := index.Write(&buf, &index.Index{Records: r.recs}); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(rd, sc.arch, "APKINDEX.tar.gz"), buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					repos = append(repos, apkRepo{dir: rd, tag: r.tag})
				}
				sc.want.Data = []byte(runApk(t, sc.arch, repos, sc.instText, sc.world, sc.applet, sc.args))
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			db, err := NewDB(cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := apkArgs
			if sc.applet == "del" {
				req = apkDelArgs
			}
			got := output(db.Solve(req(t, sc.args, sc.world)))
			if diff := cmp.Diff(string(sc.want.Data), got); diff != "" {
				t.Errorf("apk %s %s (-apk +resolve):\n%s", sc.applet, strings.Join(sc.args, " "), diff)
			}
		})
	}
}

// TestRealUpgrade solves, on a root holding the alpine-base plan of the
// v3.16 index (as apk made it, in testdata/real/alpine-316.txtar) and the
// v3.17 index as its repository, every request in
// testdata/real/upgrade.txtar, and compares the result with what
// apk-tools 2.14 printed for it. The root's packages are x86_64 and the
// repository aarch64: apk 2.14 does not check architectures, so neither
// does the DB here (Config.Arch is empty).
func TestRealUpgrade(t *testing.T) {
	old := readIndex(t, "alpine-316")
	recs := readIndex(t, "alpine-317")
	base, err := txtar.ParseFile(filepath.Join("testdata", "real", "alpine-316.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var planText string
	for _, f := range base.Files {
		if f.Name == "add alpine-base" {
			planText = string(f.Data)
		}
	}
	byNameVersion := map[string]*index.Record{}
	for _, r := range old {
		byNameVersion[r.Name+" ("+r.Version+")"] = r
	}
	var installed []*index.Record
	for _, line := range strings.Split(planText, "\n") {
		if _, rest, ok := strings.Cut(line, " Installing "); ok {
			r := byNameVersion[rest]
			if r == nil {
				t.Fatalf("%q is not in alpine-316", rest)
			}
			installed = append(installed, r)
		}
	}
	if len(installed) != 21 {
		t.Fatalf("alpine-base plan of alpine-316 has %d packages, want 21", len(installed))
	}
	cfg := Config{Repositories: []Repository{{Records: recs}}}
	for _, r := range installed {
		cfg.Installed = append(cfg.Installed, Installed{Record: r})
	}
	db, err := NewDB(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const world = "alpine-base\n"
	file := filepath.Join("testdata", "real", "upgrade.txtar")
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var repo, instText string
	if *update {
		if *apkBin == "" {
			t.Fatal("-update needs -apk: the expectations come from apk-tools")
		}
		repo = t.TempDir()
		src, err := os.ReadFile(filepath.Join(alpinetest.Dir(t), "alpine-317", "APKINDEX.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(repo, "aarch64"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "aarch64", "APKINDEX.tar.gz"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := index.AppendText(nil, installed)
		if err != nil {
			t.Fatal(err)
		}
		instText = string(b)
	}
	for i := range ar.Files {
		f := &ar.Files[i]
		args := strings.Fields(strings.TrimPrefix(f.Name, "add"))
		if *update {
			f.Data = []byte(runApk(t, "aarch64", []apkRepo{{dir: repo}}, instText, world, "add", args))
		}
		got := output(db.Solve(apkArgs(t, args, world)))
		if diff := cmp.Diff(string(f.Data), got); diff != "" {
			t.Errorf("apk add %s (-apk +resolve):\n%s", strings.Join(args, " "), diff)
		}
	}
	if *update {
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
