package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/apkit-dev/apkit/internal/config"
	"github.com/apkit-dev/apkit/internal/term"
)

// Exit codes, documented in the root command's help.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitVerify      = 3
	ExitInterrupted = 130
)

// App holds the dependencies every verb uses. Its funcs are lazy so that
// verbs which need no configuration (version, help) never read it.
type App struct {
	IO         *term.Streams                  // where output goes
	Config     func() (*config.Config, error) // the resolved configuration, loaded on first call
	HTTPClient func() (*http.Client, error)   // the client for every network request
	Now        func() time.Time               // the clock (fixed in tests)

	// Getenv looks up environment variables (os.Getenv outside tests).
	Getenv func(string) string

	global globalOptions
}

type globalOptions struct {
	configFile string
	chdir      string
	verbose    bool
	quiet      bool
	color      string
	// noPackager is set by verbs that never use the packager, so that
	// loading the config spends no git process on finding it.
	noPackager bool
}

// NewApp returns an App over the given streams, reading the process environment.
func NewApp(io *term.Streams) *App {
	app := &App{IO: io, Now: time.Now, Getenv: os.Getenv}
	var (
		once sync.Once
		cfg  *config.Config
		err  error
	)
	app.Config = func() (*config.Config, error) {
		once.Do(func() {
			opts := config.Options{
				File:       app.global.configFile,
				Getenv:     app.Getenv,
				AbuildConf: abuildConfReader,
			}
			if app.global.noPackager {
				opts.GitConfig = func(string) string { return "" }
			}
			cfg, err = config.Load(opts)
			if err == nil {
				for _, k := range cfg.Unknown {
					hint := ""
					if s := config.SuggestKey(k); s != "" {
						hint = fmt.Sprintf(" (did you mean %s?)", s)
					}
					app.IO.Warnf("config %s: unknown key %q%s", cfg.File, k, hint)
				}
			}
		})
		return cfg, err
	}
	app.HTTPClient = func() (*http.Client, error) {
		return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}, nil
	}
	return app
}

// usageError marks an error in how apkit was called (exit code 2). The
// usage is printed after it only when showUsage is set: for errors in the
// shape of the command line (an unknown flag, a flag without its value),
// not for a bad value, which one line explains better.
type usageError struct {
	err       error
	showUsage bool
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns an error that makes Main exit with code 2, printed
// on one line without the usage.
func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// verifyError marks a verification or signature failure (exit code 3).
type verifyError struct{ err error }

func (e *verifyError) Error() string { return e.err.Error() }
func (e *verifyError) Unwrap() error { return e.err }

// verifyFailed wraps err so that Main exits with code 3.
func verifyFailed(err error) error {
	if err == nil {
		return nil
	}
	return &verifyError{err}
}

// silentError carries an exit code for a failure already reported on the
// streams (for example one line per bad file), so Main prints nothing more.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

const rootLong = `apkit builds, signs, indexes, uploads and serves Alpine Linux packages.

It reads real APKBUILD recipes, builds them in a bubblewrap sandbox, writes
.apk v2 packages and APKINDEX.tar.gz indexes that Alpine's apk accepts with
signature checking on, and runs a repository server that takes uploads
authenticated with GitLab CI id_tokens.

Settings come from, highest first: flags, APKIT_* environment variables, the
config file (--config, APKIT_CONFIG, or ~/.config/apkit/config.yaml), an
existing abuild.conf, and defaults. "apkit config" shows where each came from.

Exit codes:
  0    success
  1    failure
  2    usage error (bad flags or arguments)
  3    verification or signature failure
  130  interrupted`

// subcommand is one of apkit's top-level commands: its name and aliases,
// which are known without building it, and its constructor.
type subcommand struct {
	name    string
	aliases []string
	new     func(*App) *cobra.Command
	// tree is set for commands that read the whole command tree (the
	// completion scripts, the command reference): running one of them
	// builds every command.
	tree bool
}

// subcommands returns apkit's top-level commands. It is the one list of
// them: [newRootCmd] builds them all, [Run] only the one it runs.
func subcommands() []subcommand {
	return []subcommand{
		{name: "version", new: newVersionCmd},
		{name: "build", new: newBuildCmd},
		{name: "plan", new: newPlanCmd},
		{name: "clean", new: newCleanCmd},
		{name: "serve", new: newServeCmd},
		{name: "upload", new: newUploadCmd},
		{name: "index", new: newIndexCmd},
		{name: "completion", new: newCompletionCmd, tree: true},
		{name: "gen-docs", new: newGenDocsCmd, tree: true},
		{name: "show", new: newShowCmd},
		{name: "lint", new: newLintCmd},
		{name: "config", new: newConfigCmd},
		{name: "keygen", new: newKeygenCmd},
		{name: "sign", new: newSignCmd},
		{name: "verify", new: newVerifyCmd},
		{name: "fetch", new: newFetchCmd},
		{name: "checksum", new: newChecksumCmd},
		{name: "bump", new: newBumpCmd},
		{name: "new", new: newNewCmd},
		{name: "image", new: newImageCmd},
		{name: "add", new: newAddCmd},
		{name: "del", new: newDelCmd},
	}
}

// newRootCmd builds the whole command tree.
func newRootCmd(app *App) *cobra.Command {
	return newRoot(app, subcommands())
}

// newRoot builds the root command with the subcommands subs.
func newRoot(app *App, subs []subcommand) *cobra.Command {
	g := &app.global
	cmd := &cobra.Command{
		Use:           "apkit",
		Short:         "Build, sign, index, upload and serve Alpine packages",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch term.ColorMode(g.color) {
			case term.ColorAuto, term.ColorAlways, term.ColorNever:
				app.IO.SetColorMode(term.ColorMode(g.color))
			default:
				return usageErrorf("--color: %q is not one of auto, always, never", g.color)
			}
			if g.quiet && g.verbose {
				return usageErrorf("-q and -v cannot be used together")
			}
			app.IO.SetQuiet(g.quiet)
			app.IO.SetVerbose(g.verbose)
			if g.chdir != "" {
				if err := os.Chdir(g.chdir); err != nil {
					return fmt.Errorf("-C: %w", err)
				}
			}
			return nil
		},
	}
	// apkit --version, as most tools (and abuild -V) have, prints what
	// apkit version prints.
	cmd.Version = buildVersion().String()
	cmd.SetVersionTemplate("apkit {{.Version}}\n")
	cmd.Flags().Bool("version", false, "print the version (as apkit version does)")
	cmd.SetFlagErrorFunc(flagError)
	cmd.SetHelpCommand(newHelpCmd())
	// apkit has its own completion command; cobra must not add one to a
	// root built with a single other command.
	cmd.CompletionOptions.DisableDefaultCmd = true
	pf := cmd.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "config `file` (default $APKIT_CONFIG or ~/.config/apkit/config.yaml)")
	pf.StringVarP(&g.chdir, "directory", "C", "", "change to `dir` before doing anything")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "print more about what is done")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print nothing on success but results")
	pf.StringVar(&g.color, "color", "auto", "`when` to colour output: auto, always or never (NO_COLOR and FORCE_COLOR are honoured)")

	for _, s := range subs {
		c := s.new(app)
		c.Aliases = s.aliases
		cmd.AddCommand(c)
	}
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// commandsFor returns those of the subcommands all that a run with args
// needs: only the one args name, when cobra is sure to run it, and
// otherwise all of them. The whole tree is needed by the root's help,
// cobra's help and shell completion commands, the commands marked tree,
// and cobra's errors for an unknown command, which suggest the names near
// it.
func commandsFor(all []subcommand, args []string) []subcommand {
	word, ok := commandWord(args)
	if !ok {
		return all
	}
	for _, s := range all {
		if s.name == word || slices.Contains(s.aliases, word) {
			if s.tree {
				return all
			}
			return []subcommand{s}
		}
	}
	return all
}

// commandWord returns the word in args that names the subcommand to run:
// the first argument that is neither a flag of the root nor the value of
// one. cobra picks that word before any flag is parsed, by rules of its
// own, and the flag parser then reads the flags; commandWord returns a word
// only where both read args alike. It reports false when args run the root
// command itself, and when they hold, before the word, "--", "-" or an empty
// argument, -h or --help (not yet defined when cobra picks, so it takes the
// next argument for their value), --version, a flag the root does not have,
// or a group of short flags ending in -C whose value is the next argument
// (cobra takes that argument for the word, the parser for -C's value).
func commandWord(args []string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "" || a == "-" || a == "--":
			return "", false
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			switch name {
			case "verbose", "quiet":
			case "config", "directory", "color":
				if !hasValue {
					i++
				}
			default:
				return "", false
			}
		case a == "-C":
			i++
		case strings.HasPrefix(a, "-"):
			if !shortFlags(a[1:]) {
				return "", false
			}
		default:
			return a, true
		}
	}
	return "", false
}

// shortFlags reports whether s, the letters of one argument after its
// dash, are the root's short flags, read alike by cobra and the flag
// parser: -v and -q, then possibly -C with its value in the same argument
// (-vCdir, -C=dir).
func shortFlags(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'v', 'q':
		case 'C':
			return i+1 < len(s)
		default:
			return false
		}
	}
	return true
}

// Main runs apkit with the process's arguments and streams and returns the
// exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, term.System(), os.Args[1:])
}

// Run runs apkit with args over the given streams and returns the exit code.
// It builds only the command args run where it can (see [commandsFor]).
func Run(ctx context.Context, io *term.Streams, args []string) int {
	return run(ctx, io, args, commandsFor(subcommands(), args))
}

// run runs apkit with args on a root with the subcommands subs.
func run(ctx context.Context, io *term.Streams, args []string, subs []subcommand) int {
	app := NewApp(io)
	root := newRoot(app, subs)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	return reportError(ctx, io, cmd, err)
}

func reportError(ctx context.Context, io *term.Streams, cmd *cobra.Command, err error) int {
	var (
		silent *silentError
		usage  *usageError
		verify *verifyError
	)
	err = abuildVerbError(err)
	switch {
	case errors.As(err, &silent):
		return silent.code
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		fmt.Fprintln(io.ErrOut, "apkit: interrupted")
		return ExitInterrupted
	case errors.As(err, &usage) || isCobraUsageError(err):
		fmt.Fprintf(io.ErrOut, "apkit: %v\n", err)
		if cmd != nil && (usage == nil || usage.showUsage) {
			fmt.Fprintf(io.ErrOut, "\n%s", cmd.UsageString())
		}
		return ExitUsage
	case errors.As(err, &verify):
		fmt.Fprintf(io.ErrOut, "apkit: %v\n", err)
		return ExitVerify
	default:
		fmt.Fprintf(io.ErrOut, "apkit: %v\n", err)
		return ExitFailure
	}
}

// newHelpCmd replaces cobra's help command, which prints the usage and
// exits 0 for a topic it does not know: apkit exits 2 for it, as for an
// unknown command.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help provides help for any command in the application.\nSimply type apkit help [path to command] for full details.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var out []cobra.Completion
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return usageErrorf("help: unknown command %q (apkit help lists the commands)", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// isCobraUsageError recognises the argument errors cobra itself returns.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument", "required flag"} {
		if len(msg) >= len(p) && msg[:len(p)] == p {
			return true
		}
	}
	return false
}
