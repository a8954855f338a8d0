package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/apkit-dev/apkit/pkg/graph"
)

// gitlabMaxNeeds is how many jobs one job's needs: may name on GitLab
// (its default limit). A job that would need more waits for the stages
// before its own instead, whose artifacts it gets all of.
const gitlabMaxNeeds = 50

// gitlabRecipeTemplate is the job of examples/gitlab/apkit.gitlab-ci.yml
// that the jobs of a planned pipeline extend.
const gitlabRecipeTemplate = ".apkit-build-recipe"

// gitlabJobName is the name of the job that builds the recipe in dir.
func gitlabJobName(dir string) string { return "build " + dir }

// gitlabDir returns the recipe directory dir as a job finds it: relative
// to the project directory, which is the current one, with forward
// slashes and nothing the job's shell would split or expand.
func gitlabDir(dir string) (string, error) {
	rel := dir
	if filepath.IsAbs(dir) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		if rel, err = filepath.Rel(wd, dir); err != nil {
			return "", err
		}
	}
	rel = filepath.ToSlash(filepath.Clean(rel))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("--gitlab: recipe %s is outside the current directory, the project's checkout in a job", dir)
	}
	if rel == "." {
		return "", fmt.Errorf("--gitlab: recipe %s is the current directory: run apkit plan in the project's top directory", dir)
	}
	for _, r := range rel {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || strings.ContainsRune(`*?[]$'"\`+"`", r) {
			return "", fmt.Errorf("--gitlab: recipe directory %q has a character that a job's shell would split or expand", rel)
		}
	}
	// GitLab's limit on a job name is 255 characters.
	if len(gitlabJobName(rel)) > 255 {
		return "", fmt.Errorf("--gitlab: recipe directory %s: too long for a GitLab job name", rel)
	}
	return rel, nil
}

// writeGitLabPipeline writes the child pipeline of the recipes of g: one
// job per recipe, extending gitlabRecipeTemplate, in a stage after those
// of its dependencies, with needs: on the jobs of the recipes it depends
// on (less those its other dependencies bring along in their artifacts);
// then the template's check and upload jobs over every package. With sel
// not nil, only the recipes it selects have jobs; it must hold every
// recipe that depends on one it holds.
func writeGitLabPipeline(w io.Writer, g *graph.Graph, sel []bool) error {
	in := func(i int) bool { return sel == nil || sel[i] }
	dirs := make([]string, len(g.Nodes))
	for i, n := range g.Nodes {
		if !in(i) {
			continue
		}
		d, err := gitlabDir(n.Dir)
		if err != nil {
			return err
		}
		dirs[i] = d
	}
	needs := g.Needs()
	depths := g.Depths()
	// The stages are the levels that have jobs, in order.
	used := map[int]bool{}
	for i, d := range depths {
		if in(i) {
			used[d] = true
		}
	}
	stage := map[int]int{}
	stages := 0
	for d := 0; len(stage) < len(used); d++ {
		if used[d] {
			stages++
			stage[d] = stages
		}
	}
	q := strconv.Quote
	var b strings.Builder
	if stages == 0 {
		// GitLab refuses a pipeline without jobs.
		b.WriteString("# apkit plan --gitlab: no recipe to build.\nstages:\n  - build\n\n")
		b.WriteString("\"nothing to build\":\n  extends: .apkit-base\n  stage: build\n  script:\n    - echo \"no recipe to build\"\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("# A pipeline of one job per recipe, in dependency order, written by\n")
	b.WriteString("# apkit plan --gitlab: run it as a child pipeline (trigger: include: artifact:).\n")
	b.WriteString("stages:\n")
	for s := 1; s <= stages; s++ {
		fmt.Fprintf(&b, "  - build-%d\n", s)
	}
	b.WriteString("  - check\n  - upload\n")
	for _, i := range g.Order {
		if !in(i) {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", q(gitlabJobName(dirs[i])))
		fmt.Fprintf(&b, "  extends: %s\n", gitlabRecipeTemplate)
		fmt.Fprintf(&b, "  stage: build-%d\n", stage[depths[i]])
		fmt.Fprintf(&b, "  variables:\n    APKIT_RECIPES: %s\n", q(dirs[i]+"/APKBUILD"))
		// What is not built here comes from elsewhere.
		var n []int
		for _, j := range needs[i] {
			if in(j) {
				n = append(n, j)
			}
		}
		switch {
		case len(n) == 0:
			b.WriteString("  needs: []\n")
		case len(n) <= gitlabMaxNeeds:
			b.WriteString("  needs:\n")
			for _, j := range n {
				fmt.Fprintf(&b, "    - job: %s\n      artifacts: true\n", q(gitlabJobName(dirs[j])))
			}
		default:
			fmt.Fprintf(&b, "  # needs %d jobs, more than GitLab allows: waits for the stages before\n", len(n))
		}
	}
	// Check and upload get the artifacts of every job, all in stages
	// before theirs.
	b.WriteString("\ncheck:\n  extends: .apkit-check\n  stage: check\n")
	b.WriteString("\nupload:\n  extends: .apkit-upload\n  stage: upload\n")
	_, err := io.WriteString(w, b.String())
	return err
}
