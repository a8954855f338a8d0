package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/rogpeppe/go-internal/testscript"
	"go.yaml.in/yaml/v3"
)

// TestGitLabJobs runs testdata/gitlab/*.txtar: the jobs of the GitLab CI
// templates in examples/gitlab, run as a GitLab runner runs them (before_script
// and script in one shell), on the sample package project. The command
// "gitlab-job TEMPLATE... JOB OUT" writes JOB's shell script to OUT, the
// templates included together.
func TestGitLabJobs(t *testing.T) {
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/gitlab",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			if err := os.MkdirAll(home, 0o755); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", "")
			env.Setenv("XDG_CACHE_HOME", "")
			env.Setenv("ABUILD_CONF", filepath.Join(env.WorkDir, "etc-abuild.conf"))
			env.Setenv("EXAMPLES", examples)
			port, err := freePort()
			if err != nil {
				return err
			}
			env.Setenv("PORT", fmt.Sprint(port))
			// A container registry, as GitLab's: it takes the job's
			// CI_REGISTRY_USER and CI_REGISTRY_PASSWORD.
			reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != "gitlab-ci-token" || p != "registry-password" {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					http.Error(w, "unauthorized", http.StatusUnauthorized)
					return
				}
				reg.ServeHTTP(w, r)
			}))
			env.Defer(srv.Close)
			env.Setenv("REGISTRY", strings.TrimPrefix(srv.URL, "http://"))
			env.Setenv("DOCKER_CONFIG", filepath.Join(env.WorkDir, "docker"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// registry-tags REPO prints the tags $REGISTRY holds for REPO.
			"registry-tags": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: registry-tags REPO")
				}
				req, err := http.NewRequest("GET", "http://"+ts.Getenv("REGISTRY")+"/v2/"+args[0]+"/tags/list", nil)
				ts.Check(err)
				req.SetBasicAuth("gitlab-ci-token", "registry-password")
				resp, err := http.DefaultClient.Do(req)
				ts.Check(err)
				defer resp.Body.Close()
				var list struct{ Tags []string }
				ts.Check(json.NewDecoder(resp.Body).Decode(&list))
				for _, tag := range list.Tags {
					fmt.Fprintln(ts.Stdout(), tag)
				}
			},
			"gitlab-job": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 3 {
					ts.Fatalf("usage: gitlab-job TEMPLATE... JOB OUT")
				}
				var srcs []string
				for _, f := range args[:len(args)-2] {
					srcs = append(srcs, ts.ReadFile(f))
				}
				script, err := gitlabJobScript(srcs, args[len(args)-2])
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[len(args)-1]), []byte(script), 0o644))
			},
		},
	})
}

// gitlabJobScript returns the shell script GitLab runs for job in the CI
// files srcs, included together: its before_script (or that of the job it
// extends) and script, with !reference tags resolved, under "set -e" as a
// runner does, after exporting the job's own variables.
func gitlabJobScript(srcs []string, job string) (string, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, src := range srcs {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			return "", err
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			return "", fmt.Errorf("a CI file is not a mapping")
		}
		root.Content = append(root.Content, doc.Content[0].Content...)
	}
	lookup := func(m *yaml.Node, key string) *yaml.Node {
		for i := 0; m != nil && m.Kind == yaml.MappingNode && i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		return nil
	}
	var lines func(n *yaml.Node) ([]string, error)
	lines = func(n *yaml.Node) ([]string, error) {
		var out []string
		for _, c := range n.Content {
			switch {
			case c.Tag == "!reference":
				target := root
				for _, p := range c.Content {
					target = lookup(target, p.Value)
				}
				if target == nil {
					return nil, fmt.Errorf("!reference %v: not found", c.Content)
				}
				sub, err := lines(target)
				if err != nil {
					return nil, err
				}
				out = append(out, sub...)
			case c.Kind == yaml.ScalarNode:
				out = append(out, c.Value)
			default:
				return nil, fmt.Errorf("unexpected %v in a script", c.Tag)
			}
		}
		return out, nil
	}
	// key finds a job's key, following extends.
	var key func(name, k string) *yaml.Node
	key = func(name, k string) *yaml.Node {
		j := lookup(root, name)
		if j == nil {
			return nil
		}
		if v := lookup(j, k); v != nil {
			return v
		}
		if ext := lookup(j, "extends"); ext != nil {
			return key(ext.Value, k)
		}
		return nil
	}
	if lookup(root, job) == nil {
		return "", fmt.Errorf("no job %s", job)
	}
	var script []string
	// The job's own variables (the test sets those of the templates).
	if vars := lookup(lookup(root, job), "variables"); vars != nil {
		for i := 0; i+1 < len(vars.Content); i += 2 {
			v := strings.ReplaceAll(vars.Content[i+1].Value, "'", `'\''`)
			script = append(script, fmt.Sprintf("export %s='%s'", vars.Content[i].Value, v))
		}
	}
	for _, k := range []string{"before_script", "script"} {
		if n := key(job, k); n != nil {
			l, err := lines(n)
			if err != nil {
				return "", fmt.Errorf("%s.%s: %w", job, k, err)
			}
			script = append(script, l...)
		}
	}
	return "set -e\n" + strings.Join(script, "\n") + "\n", nil
}
