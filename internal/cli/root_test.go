package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/internal/term"
)

// TestCommandsFor checks which subcommands a run builds: the one its
// arguments name, past the root's flags and their values, or all of them.
func TestCommandsFor(t *testing.T) {
	t.Parallel()
	all := append(subcommands(), subcommand{name: "remove", aliases: []string{"rm"}})
	tests := []struct {
		name string
		args []string
		want string // the one command built, or "" for all of them
	}{
		{"no args", nil, ""},
		{"command", []string{"add", "curl"}, "add"},
		{"command help", []string{"add", "--help"}, "add"},
		{"command after its flags", []string{"add", "--root", "help"}, "add"},
		{"alias", []string{"rm", "curl"}, "remove"},
		{"name of an aliased command", []string{"remove", "curl"}, "remove"},
		{"--config file", []string{"--config", "c.yaml", "add"}, "add"},
		{"--config=file", []string{"--config=c.yaml", "add"}, "add"},
		{"--config naming a command", []string{"--config", "del", "add"}, "add"},
		{"--directory dir", []string{"--directory", "del", "add"}, "add"},
		{"--directory=dir", []string{"--directory=del", "add"}, "add"},
		{"-C dir", []string{"-C", "del", "add"}, "add"},
		{"-Cdir", []string{"-Cdel", "add"}, "add"},
		{"-C=dir", []string{"-C=del", "add"}, "add"},
		{"--color when", []string{"--color", "never", "add"}, "add"},
		{"--color=when", []string{"--color=never", "add"}, "add"},
		{"bools", []string{"-v", "--quiet", "--verbose", "-q", "add"}, "add"},
		{"combined bools", []string{"-vq", "add"}, "add"},
		{"combined bools and -Cdir", []string{"-qvCdel", "add"}, "add"},
		{"all the forms", []string{"-v", "--color", "always", "-Cdel", "--config=x", "--directory", "y", "-q", "add", "-h"}, "add"},
		{"-C eats the command", []string{"-C", "add"}, ""},
		{"--config eats the command", []string{"--config", "add"}, ""},
		{"value-taking flag at the end", []string{"-v", "--color"}, ""},
		{"combined flags ending in -C", []string{"-vC", "del", "add"}, ""},
		{"--", []string{"--", "add"}, ""},
		{"-", []string{"-", "add"}, ""},
		{"empty argument", []string{"", "add"}, ""},
		{"-h", []string{"-h"}, ""},
		{"-h before the command", []string{"-h", "add"}, ""},
		{"--help before the command", []string{"--help", "add"}, ""},
		{"-vh before the command", []string{"-vh", "add"}, ""},
		{"--version", []string{"--version"}, ""},
		{"--version before the command", []string{"--version", "add"}, ""},
		{"unknown long flag", []string{"--frob", "add"}, ""},
		{"unknown short flag", []string{"-x", "add"}, ""},
		{"bool with a value", []string{"-v=true", "add"}, ""},
		{"unknown command", []string{"ad", "curl"}, ""},
		{"unknown command naming one after it", []string{"frob", "add"}, ""},
		{"prefix of a command", []string{"ver"}, ""},
		{"other case", []string{"Add"}, ""},
		{"help", []string{"help", "add"}, ""},
		{"completion", []string{"completion", "bash"}, ""},
		{"shell completion", []string{"__complete", "add", ""}, ""},
		{"shell completion without descriptions", []string{"__completeNoDesc", "add", ""}, ""},
		{"gen-docs", []string{"gen-docs", "--markdown", "docs"}, ""},
		{"gen-docs after flags", []string{"-C", "del", "gen-docs"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := commandsFor(all, tt.args)
			switch {
			case tt.want == "" && len(got) != len(all):
				t.Errorf("commandsFor(%q) built %d of %d commands, want all", tt.args, len(got), len(all))
			case tt.want != "" && (len(got) != 1 || got[0].name != tt.want):
				names := make([]string, len(got))
				for i, s := range got {
					names[i] = s.name
				}
				t.Errorf("commandsFor(%q) built %q, want only %q", tt.args, names, tt.want)
			}
		})
	}
}

// TestSubcommandTable checks that each row of the table builds the command
// it names, and that the aliases come from the table alone (the rows are
// all Run knows of a command it does not build).
func TestSubcommandTable(t *testing.T) {
	app := NewApp(term.Test().Streams)
	seen := map[string]bool{}
	for _, s := range subcommands() {
		c := s.new(app)
		if c.Name() != s.name {
			t.Errorf("row %q builds the command %q", s.name, c.Name())
		}
		if len(c.Aliases) > 0 {
			t.Errorf("%s: its constructor sets aliases %q; give them in the table", s.name, c.Aliases)
		}
		for _, n := range append([]string{s.name}, s.aliases...) {
			if seen[n] {
				t.Errorf("%s: the name %q is in two rows", s.name, n)
			}
			seen[n] = true
		}
	}
}

// runOutput is what a run of apkit shows.
type runOutput struct {
	Code        int
	Out, ErrOut string
}

// runBoth runs args as Run does and on the whole command tree.
func runBoth(t *testing.T, args []string) (lazy, full runOutput) {
	t.Helper()
	do := func(f func(context.Context, *term.Streams) int) runOutput {
		ts := term.Test()
		code := f(context.Background(), ts.Streams)
		return runOutput{code, ts.OutBuf.String(), ts.ErrBuf.String()}
	}
	lazy = do(func(ctx context.Context, io *term.Streams) int { return Run(ctx, io, slices.Clone(args)) })
	full = do(func(ctx context.Context, io *term.Streams) int {
		return run(ctx, io, slices.Clone(args), subcommands())
	})
	return lazy, full
}

// TestLazyHelp checks that every command's help is the same when Run
// builds only that command as in the whole tree, so that no command's help
// depends on its siblings.
func TestLazyHelp(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(slices.Clone(path), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	walk(newRootCmd(NewApp(term.Test().Streams)), nil)
	if len(paths) < len(subcommands()) {
		t.Fatalf("found %d commands in the tree, want at least %d", len(paths), len(subcommands()))
	}
	for _, p := range paths {
		for _, help := range []string{"--help", "-h"} {
			args := append(slices.Clone(p), help)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				lazy, full := runBoth(t, args)
				if diff := cmp.Diff(full, lazy); diff != "" {
					t.Errorf("apkit %s: lazy run differs from the whole tree (-full +lazy):\n%s", strings.Join(args, " "), diff)
				}
				if full.Code != ExitOK || !strings.Contains(full.Out, "Usage:") {
					t.Errorf("apkit %s: exit %d, no usage in the help:\n%s%s", strings.Join(args, " "), full.Code, full.Out, full.ErrOut)
				}
			})
		}
	}
}

// TestLazyRun checks that argument forms which build one command and forms
// which must build them all print what a run on the whole tree prints.
func TestLazyRun(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-h"},
		{"--help"},
		{"--version"},
		{"-h", "add"},
		{"--help", "add"},
		{"-vh", "add"},
		{"--version", "add"},
		{"-vC", "del", "add"},
		{"--frob", "add"},
		{"-x", "add"},
		{"", "add", "-h"},
		{"-", "add", "-h"},
		{"--", "add"},
		{"-C", "add"},
		{"ad"},
		{"frob", "add"},
		{"help"},
		{"help", "add"},
		{"help", "frob"},
		{"completion", "fish"},
		{"__complete", ""},
		{"__complete", "a"},
		{"__complete", "add", "--r"},
		{"__completeNoDesc", "add", "--col"},
		{"gen-docs"},
		{"version"},
		{"version", "--json", "extra"},
		{"--color", "always", "add", "--help"},
		{"--color=never", "del", "-h"},
		{"-C", "nowhere", "add", "--help"},
		{"-Cnowhere", "add", "-h"},
		{"--directory", "nowhere", "add", "-h"},
		{"--config", "nowhere.yaml", "add", "-h"},
		{"-vq", "add", "-h"},
		{"-q", "-v", "add", "curl"},
		{"add", "--frob"},
		{"add", "--color", "sometimes", "curl"},
		{"add", "--version"},
		{"config", "frob"},
		{"image", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			lazy, full := runBoth(t, args)
			if diff := cmp.Diff(full, lazy); diff != "" {
				t.Errorf("apkit %q: lazy run differs from the whole tree (-full +lazy):\n%s", args, diff)
			}
		})
	}
}

// BenchmarkRunAddHelp compares a run of apkit add --help that builds only
// add with one that builds the whole tree.
func BenchmarkRunAddHelp(b *testing.B) {
	args := []string{"add", "--help"}
	for _, bb := range []struct {
		name string
		subs []subcommand
	}{
		{"whole tree", subcommands()},
		{"lazy", commandsFor(subcommands(), args)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if code := run(context.Background(), term.Test().Streams, slices.Clone(args), bb.subs); code != ExitOK {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}
