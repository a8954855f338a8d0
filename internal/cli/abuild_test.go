package cli

import (
	"testing"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/internal/term"
)

// TestAbuildTable checks the abuild table against the command tree: the
// flags it says apkit build accepts are flags of apkit build, the others
// are not (but -k, which is --key), and no verb it gives hints for is an
// apkit command.
func TestAbuildTable(t *testing.T) {
	root := newRootCmd(NewApp(term.Test().Streams))
	buildCmd, _, err := root.Find([]string{"build"})
	if err != nil {
		t.Fatal(err)
	}
	buildCmd.InheritedFlags() // merges the root's persistent flags
	flags, verbs := map[string]bool{}, map[string]bool{}
	for _, r := range abuildRows {
		for _, f := range r.Flags {
			if flags[f] {
				t.Errorf("-%s: in two rows", f)
			}
			flags[f] = true
			has := buildCmd.Flags().ShorthandLookup(f) != nil
			switch {
			case r.Accepted && !has:
				t.Errorf("-%s: the table says apkit build takes it, but it has no such flag", f)
			case !r.Accepted && has && f != "k":
				t.Errorf("-%s: apkit build has the flag, but the table gives a hint for it", f)
			}
		}
		for _, v := range r.Verbs {
			if verbs[v] {
				t.Errorf("%s: in two rows", v)
			}
			verbs[v] = true
			if c, _, err := root.Find([]string{v}); err == nil && c != root {
				t.Errorf("%s: an apkit command; its hint would never show", v)
			}
		}
	}
}

func TestSuggestFlag(t *testing.T) {
	root := newRootCmd(NewApp(term.Test().Streams))
	buildCmd, _, err := root.Find([]string{"build"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"nocheck", "no-check"},
		{"nodeps", "no-deps"},
		{"NoCheck", "no-check"},
		{"repo_dest", "repodest"},
		{"colour", "color"},
		{"phase", "phases"},
		{"rootfss", "rootfs"},
		{"abuild-colour", ""}, // hidden flags are not suggested
		{"xyz", ""},
		{"sha1", ""},
	}
	for _, tt := range tests {
		if got := suggestFlag(buildCmd, tt.in); got != tt.want {
			t.Errorf("suggestFlag(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"color", "colour", 1}, {"phases", "phase", 1}} {
		if got := config.EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
