package cli

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/apkit-dev/apkit/pkg/apkbuild"
)

// repoRoot is the top of the source tree, seen from this package.
var repoRoot = filepath.Join("..", "..")

// checkInvocation reports what is wrong with one apkit command line from a
// document or CI script: an unknown verb or flag. Words holding shell
// expansions count as arguments.
func checkInvocation(line string) string {
	words := strings.Fields(line)
	// Leading VAR=value words set the environment of the command.
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		words = words[1:]
	}
	if len(words) == 0 || words[0] != "apkit" {
		return ""
	}
	var args []string
	for _, w := range words[1:] {
		if w == "|" || w == "||" || w == "&&" || w == ";" || w == "&" || strings.HasPrefix(w, ">") || strings.HasPrefix(w, "2>") || w == ")" || w == "#" {
			break
		}
		if strings.Contains(w, "$") {
			w = "ARG"
		}
		if placeholderRE.MatchString(w) {
			// A placeholder such as DIR, BITS or NAME[,NAME...].
			w = "1"
		}
		args = append(args, strings.Trim(w, `"'`))
	}
	root := newRootCmd(NewApp(nil))
	root.InitDefaultHelpCmd()
	root.InitDefaultVersionFlag()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err.Error()
	}
	err = cmd.ParseFlags(rest)
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return ""
	case err != nil && strings.HasPrefix(err.Error(), "flag needs an argument") && len(args) > 0 && strings.HasPrefix(args[len(args)-1], "-"):
		// Prose naming a flag: `apkit show --field`.
		return ""
	case err != nil:
		return err.Error()
	}
	if cmd == root {
		if a := cmd.Flags().Args(); len(a) > 0 {
			return "no verb " + a[0]
		}
	}
	return ""
}

// placeholderRE matches the upper-case placeholders of usage lines.
var placeholderRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*(\[[^ ]*\])?$`)

func TestCheckInvocation(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
	}{
		{"apkit version --json", true},
		{"apkit -q --color never version", true},
		{`apkit completion bash > "$dir/apkit"`, true},
		{"apkit version --bogus", false},
		{"apkit frobnicate", false},
		{"apkit --nope version", false},
		{"echo apkit frobnicate", true},
		{"APKIT_TOKEN=x apkit version --nope", false},
		{"apkit version &", true},
		{"apkit -C DIR version", true},
		{"apkit -C DIR", true},
		{"apkit --color never frobnicate", false},
		{"apkit keygen --bits BITS", true},
		{"apkit show --field", true},
		{"apkit --help", true},
	}
	for _, tt := range tests {
		if got := checkInvocation(tt.line); (got == "") != tt.ok {
			t.Errorf("checkInvocation(%q) = %q, want ok=%v", tt.line, got, tt.ok)
		}
	}
}

// shellLines returns the lines of every script, before_script and
// after_script in a GitLab CI file.
func shellLines(t *testing.T, n *yaml.Node) []string {
	t.Helper()
	var lines []string
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, key)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], n.Content[i].Value)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, key)
			}
		case yaml.ScalarNode:
			if key == "script" || key == "before_script" || key == "after_script" || key == "install" || key == "signing-key" {
				lines = append(lines, strings.Split(n.Value, "\n")...)
			}
		}
	}
	walk(n, "")
	return lines
}

func loadYAML(t *testing.T, path string) (*yaml.Node, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &n, m
}

func TestGitLabTemplates(t *testing.T) {
	dir := filepath.Join(repoRoot, "examples", "gitlab")
	tmplNode, tmpl := loadYAML(t, filepath.Join(dir, "apkit.gitlab-ci.yml"))
	sampleNode, sample := loadYAML(t, filepath.Join(dir, "sample", ".gitlab-ci.yml"))

	// Templates are hidden jobs, so including the file adds no job by itself.
	for _, job := range []string{".apkit-build", ".apkit-check", ".apkit-upload"} {
		if _, ok := tmpl[job].(map[string]any); !ok {
			t.Errorf("template has no job %s", job)
		}
	}
	for key := range tmpl {
		if !strings.HasPrefix(key, ".") && key != "variables" {
			t.Errorf("template defines %q: a visible job or key would run in every including project", key)
		}
	}

	// The upload job: an ID token whose aud is the server, only on tags.
	up, _ := tmpl[".apkit-upload"].(map[string]any)
	tok, _ := up["id_tokens"].(map[string]any)["APKIT_TOKEN"].(map[string]any)
	if aud, _ := tok["aud"].(string); aud != "$APKIT_UPLOAD_URL" {
		t.Errorf(".apkit-upload: id_tokens.APKIT_TOKEN.aud = %q, want $APKIT_UPLOAD_URL", aud)
	}
	if rules := up["rules"]; !strings.Contains(stringOf(rules), "CI_COMMIT_TAG") {
		t.Errorf(".apkit-upload: rules %v do not limit it to tags", rules)
	}

	// The build job caches the source cache and keeps the packages.
	build, _ := tmpl[".apkit-build"].(map[string]any)
	if !strings.Contains(stringOf(build["cache"]), ".apkit-cache/distfiles") {
		t.Errorf(".apkit-build: cache %v does not hold the source cache", build["cache"])
	}
	if !strings.Contains(stringOf(build["artifacts"]), "packages/") {
		t.Errorf(".apkit-build: artifacts %v do not hold packages/", build["artifacts"])
	}
	base, _ := tmpl[".apkit-base"].(map[string]any)
	vars := stringOf(base["variables"])
	for _, want := range []string{"APKIT_REPODEST", "APKIT_SRCDEST:$CI_PROJECT_DIR/.apkit-cache/distfiles"} {
		if !strings.Contains(vars, want) {
			t.Errorf(".apkit-base variables %s lack %s", vars, want)
		}
	}

	// The sample includes the template file and extends jobs that exist.
	if !strings.Contains(stringOf(sample["include"]), "/apkit.gitlab-ci.yml") {
		t.Errorf("sample does not include apkit.gitlab-ci.yml: %v", sample["include"])
	}
	stages := stringOf(sample["stages"])
	for name, v := range sample {
		job, ok := v.(map[string]any)
		if !ok || name == "variables" {
			continue
		}
		ext, _ := job["extends"].(string)
		tj, ok := tmpl[ext].(map[string]any)
		if !ok {
			t.Errorf("sample job %s extends %q, which the template lacks", name, ext)
			continue
		}
		if st, _ := tj["stage"].(string); !strings.Contains(stages, st) {
			t.Errorf("sample job %s runs in stage %q, not in the sample's stages %s", name, st, stages)
		}
	}

	// Every apkit command line in the scripts is one apkit accepts.
	for _, n := range []*yaml.Node{tmplNode, sampleNode} {
		for _, line := range shellLines(t, n) {
			line = strings.TrimSpace(line)
			if msg := checkInvocation(line); msg != "" {
				t.Errorf("CI script line %q: %s", line, msg)
			}
		}
	}
}

func stringOf(v any) string {
	var b bytes.Buffer
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				b.WriteString(k + ":")
				walk(x)
				b.WriteString(" ")
			}
		case []any:
			for _, x := range v {
				walk(x)
				b.WriteString(" ")
			}
		case string:
			b.WriteString(v)
		}
	}
	walk(v)
	return b.String()
}

// inlineRE finds apkit command lines in inline code spans.
var inlineRE = regexp.MustCompile("`(apkit [^`]*)`")

// fenceRE finds the start of a fenced code block and its info string.
var fenceRE = regexp.MustCompile("^\\s*```\\s*(\\S*)")

// TestDocsCommands checks every apkit command line in the shell blocks of
// the documentation (docs/*.md, READMEs of examples) against the command
// tree, so that the docs name only verbs and flags that exist.
func TestDocsCommands(t *testing.T) {
	var files []string
	for _, pat := range []string{"README.md", "docs/*.md", "examples/*/README.md", "examples/*/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(repoRoot, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		inShell, inBlock, lineNo := false, false, 0
		cont := ""
		for sc.Scan() {
			lineNo++
			line := sc.Text()
			if m := fenceRE.FindStringSubmatch(line); m != nil {
				if inBlock {
					inBlock, inShell = false, false
				} else {
					inBlock = true
					inShell = m[1] == "sh" || m[1] == "shell" || m[1] == "console" || m[1] == "bash"
				}
				continue
			}
			if !inBlock {
				// Inline code: `apkit verb --flag ...`.
				for _, m := range inlineRE.FindAllStringSubmatch(line, -1) {
					if msg := checkInvocation(m[1]); msg != "" {
						t.Errorf("%s:%d: %q: %s", f, lineNo, m[1], msg)
					}
				}
			}
			if !inShell {
				continue
			}
			line = strings.TrimSpace(line)
			line = strings.TrimPrefix(line, "$ ")
			line = strings.TrimPrefix(line, "# ")
			if strings.HasSuffix(line, "\\") {
				cont += strings.TrimSuffix(line, "\\") + " "
				continue
			}
			line, cont = cont+line, ""
			if msg := checkInvocation(line); msg != "" {
				t.Errorf("%s:%d: %q: %s", f, lineNo, line, msg)
			}
		}
	}
}

// TestServerExamples checks examples/server: the s6 run script is an
// executable execline one-liner running an apkit command that exists, the
// systemd unit's ExecStart is one too, and the Containerfile copies files
// that exist.
func TestServerExamples(t *testing.T) {
	dir := filepath.Join(repoRoot, "examples", "server")

	run := filepath.Join(dir, "s6", "apkit", "run")
	fi, err := os.Stat(run)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("%s is not executable (%v)", run, fi.Mode())
	}
	data, err := os.ReadFile(run)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || lines[0] != "#!/bin/execlineb -P" {
		t.Fatalf("%s: want an execline shebang and one command line, got %q", run, lines)
	}
	cmd, ok := strings.CutPrefix(lines[1], "s6-setuidgid apkit ")
	if !ok {
		t.Errorf("%s: %q does not drop to the apkit user", run, lines[1])
	}
	if msg := checkInvocation(cmd); msg != "" || !strings.HasPrefix(cmd, "apkit serve ") {
		t.Errorf("%s: %q: %s", run, cmd, msg)
	}

	unit, err := os.ReadFile(filepath.Join(dir, "apkit-serve.service"))
	if err != nil {
		t.Fatal(err)
	}
	var exec string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart=/usr/bin/"); ok {
			exec = v
		}
	}
	if msg := checkInvocation(exec); exec == "" || msg != "" {
		t.Errorf("apkit-serve.service: ExecStart %q: %s", exec, msg)
	}
	if !strings.Contains(string(unit), "--config /etc/apkit/serve.yaml") || !strings.Contains(lines[1], "--config /etc/apkit/serve.yaml") {
		t.Errorf("the unit and the s6 service should read the same /etc/apkit/serve.yaml")
	}

	cf, err := os.ReadFile(filepath.Join(dir, "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	copies := 0
	for _, l := range strings.Split(string(cf), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == "COPY" {
			copies++
			for _, src := range f[1 : len(f)-1] {
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("Containerfile: COPY %s: %v (the build context is the top of the source tree)", src, err)
				}
			}
		}
	}
	if copies == 0 {
		t.Error("Containerfile copies nothing")
	}
}

// TestExampleRecipesLintClean keeps the example recipes free of lint
// findings: they are what users copy.
func TestExampleRecipesLintClean(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*", "*", "APKBUILD"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no example recipes: %v", err)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r, err := apkbuild.Load(dir, apkbuild.Options{Arch: "x86_64"})
			if err != nil {
				t.Fatal(err)
			}
			for _, fd := range apkbuild.Lint(r) {
				t.Errorf("%s:%d:%d: %s: %s", f, fd.Line, fd.Col, fd.Rule, fd.Message)
			}
		})
	}
}

// TestDocsIndexLinksEveryPage: docs/README.md is where readers start, so
// every page in docs/ is linked from it.
func TestDocsIndexLinksEveryPage(t *testing.T) {
	index, err := os.ReadFile(filepath.Join(repoRoot, "docs", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		name := filepath.Base(p)
		if name != "README.md" && !bytes.Contains(index, []byte("]("+name+")")) {
			t.Errorf("docs/README.md does not link %s", name)
		}
	}
}
