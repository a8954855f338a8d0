package cli

import (
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/apkit-dev/apkit/pkg/graph"
	"github.com/apkit-dev/apkit/pkg/version"
)

// TestGitLabPipelineNeedsLimit: a job that would need more jobs than
// GitLab allows waits for the stages before its own instead, and the
// pipeline is YAML whose jobs are those of the recipes.
func TestGitLabPipelineNeedsLimit(t *testing.T) {
	var recipes []graph.Recipe
	var wide []version.Dependency
	for i := range gitlabMaxNeeds + 1 {
		name := fmt.Sprintf("leaf%02d", i)
		recipes = append(recipes, graph.Recipe{Dir: "main/" + name, Repo: "main", Pkgname: name, Version: "1.0-r0"})
		wide = append(wide, version.Dependency{Name: name})
	}
	recipes = append(recipes,
		graph.Recipe{Dir: "main/wide", Repo: "main", Pkgname: "wide", Version: "1.0-r0", Makedepends: wide},
		graph.Recipe{Dir: "main/narrow", Repo: "main", Pkgname: "narrow", Version: "1.0-r0", Depends: wide[:2]})
	g := graph.New(recipes, graph.Options{})
	var b strings.Builder
	if err := writeGitLabPipeline(&b, g, nil); err != nil {
		t.Fatal(err)
	}
	type job struct {
		Extends   string
		Stage     string
		Variables map[string]string
		Needs     []struct {
			Job       string
			Artifacts bool
		}
	}
	var nodes map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(b.String()), &nodes); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	doc := map[string]job{}
	for k, n := range nodes {
		var j job
		if k != "stages" {
			if err := n.Decode(&j); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
		}
		doc[k] = j
	}
	wideJob, narrowJob := doc["build main/wide"], doc["build main/narrow"]
	if wideJob.Stage != "build-2" || wideJob.Needs != nil || !strings.Contains(b.String(), fmt.Sprintf("# needs %d jobs", gitlabMaxNeeds+1)) {
		t.Errorf("wide job: %+v", wideJob)
	}
	if narrowJob.Stage != "build-2" || len(narrowJob.Needs) != 2 || narrowJob.Needs[0].Job != "build main/leaf00" || !narrowJob.Needs[0].Artifacts {
		t.Errorf("narrow job: %+v", narrowJob)
	}
	if j := doc["build main/leaf07"]; j.Extends != gitlabRecipeTemplate || j.Stage != "build-1" || j.Variables["APKIT_RECIPES"] != "main/leaf07/APKBUILD" {
		t.Errorf("leaf job: %+v", j)
	}
	if len(doc) != len(recipes)+3 { // stages, check and upload
		t.Errorf("%d keys for %d recipes", len(doc), len(recipes))
	}
}

func TestGitLabDir(t *testing.T) {
	for _, tc := range []struct{ dir, want, err string }{
		{"main/hello", "main/hello", ""},
		{"./main/hello/", "main/hello", ""},
		{"../elsewhere/x", "", "outside the current directory"},
		{".", "", "is the current directory"},
		{"main/two words", "", "would split or expand"},
		{"main/glob*", "", "would split or expand"},
		{"main/$x", "", "would split or expand"},
		{"main/" + strings.Repeat("x", 250), "", "too long"},
	} {
		got, err := gitlabDir(tc.dir)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("gitlabDir(%q) = %q, %v; want %q", tc.dir, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("gitlabDir(%q): error %v, want one with %q", tc.dir, err, tc.err)
		}
	}
}
