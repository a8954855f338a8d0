package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command that takes --json has a row in docs/scripting.md's table
// of JSON forms, where scripts look for them.
func TestScriptingDocsListJSON(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "scripting.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if c.Flags().Lookup("json") != nil {
			if row := "| `" + c.CommandPath() + " --json"; !strings.Contains(doc, row) {
				t.Errorf("docs/scripting.md: no row starting %q in the table of JSON forms", row)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(NewApp(nil)))
}
