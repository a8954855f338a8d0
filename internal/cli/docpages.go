package cli

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The command reference is written here rather than with cobra's doc
// package, whose man pages pull a Markdown renderer into every start of
// apkit.

// related returns the commands a page points to: c's parent, then its
// visible subcommands by name.
func related(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	if c.HasParent() {
		out = append(out, c.Parent())
	}
	subs := slices.Clone(c.Commands())
	slices.SortFunc(subs, func(a, b *cobra.Command) int { return strings.Compare(a.Name(), b.Name()) })
	for _, sub := range subs {
		if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
			out = append(out, sub)
		}
	}
	return out
}

// writeMarkdown writes c's Markdown page: its short and long help, usage,
// examples, options, inherited options and the pages it is related to.
func writeMarkdown(b *bytes.Buffer, c *cobra.Command) {
	c.InitDefaultHelpCmd()
	c.InitDefaultHelpFlag()
	path := c.CommandPath()
	fmt.Fprintf(b, "## %s\n\n%s\n\n", path, c.Short)
	if c.Long != "" {
		fmt.Fprintf(b, "### Synopsis\n\n%s\n\n", c.Long)
	}
	if c.Runnable() {
		fmt.Fprintf(b, "```\n%s\n```\n\n", c.UseLine())
	}
	if c.Example != "" {
		fmt.Fprintf(b, "### Examples\n\n```\n%s\n```\n\n", c.Example)
	}
	for _, fs := range []struct {
		title string
		flags *pflag.FlagSet
	}{{"Options", c.NonInheritedFlags()}, {"Options inherited from parent commands", c.InheritedFlags()}} {
		if fs.flags.HasAvailableFlags() {
			fmt.Fprintf(b, "### %s\n\n```\n%s```\n\n", fs.title, fs.flags.FlagUsages())
		}
	}
	if rel := related(c); len(rel) > 0 {
		b.WriteString("### SEE ALSO\n\n")
		for _, r := range rel {
			fmt.Fprintf(b, "* [%s](%s.md)\t - %s\n", r.CommandPath(), pageName(r), r.Short)
		}
		b.WriteString("\n")
	}
}

// writeMan writes c's man page in section 1, in roff: name, synopsis,
// description, options, examples and related pages.
func writeMan(b *bytes.Buffer, c *cobra.Command, date time.Time, source, manual string) {
	c.InitDefaultHelpCmd()
	c.InitDefaultHelpFlag()
	dashed := strings.ReplaceAll(c.CommandPath(), " ", "-")
	fmt.Fprintf(b, ".nh\n.TH %s %s %s %s %s\n", roffQuote(strings.ToUpper(dashed)), roffQuote("1"),
		roffQuote(date.Format("Jan 2006")), roffQuote(source), roffQuote(manual))
	fmt.Fprintf(b, ".SH NAME\n%s \\- %s\n", roffEscape(dashed), roffEscape(c.Short))
	fmt.Fprintf(b, ".SH SYNOPSIS\n\\fB%s\\fP\n", roffEscape(c.UseLine()))
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	b.WriteString(".SH DESCRIPTION\n")
	roffText(b, desc)
	for _, fs := range []struct {
		title string
		flags *pflag.FlagSet
	}{{"OPTIONS", c.NonInheritedFlags()}, {"OPTIONS INHERITED FROM PARENT COMMANDS", c.InheritedFlags()}} {
		if !fs.flags.HasAvailableFlags() {
			continue
		}
		fmt.Fprintf(b, ".SH %s\n", fs.title)
		fs.flags.VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Deprecated != "" {
				return
			}
			name := "\\fB\\-\\-" + roffEscape(f.Name) + "\\fP"
			if f.Shorthand != "" && f.ShorthandDeprecated == "" {
				name = "\\fB\\-" + roffEscape(f.Shorthand) + "\\fP, " + name
			}
			arg, usage := pflag.UnquoteUsage(f)
			if arg != "" {
				name += " \\fI" + roffEscape(arg) + "\\fP"
			}
			if !slices.Contains([]string{"", "false", "[]", "0", "0s"}, f.DefValue) {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(b, ".TP\n%s\n%s\n", name, roffEscape(usage))
		})
	}
	if c.Example != "" {
		b.WriteString(".SH EXAMPLES\n.PP\n.nf\n.RS\n")
		for _, l := range strings.Split(c.Example, "\n") {
			b.WriteString(roffLine(strings.TrimPrefix(l, "  ")) + "\n")
		}
		b.WriteString(".RE\n.fi\n")
	}
	if rel := related(c); len(rel) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		for i, r := range rel {
			sep := ",\n"
			if i == len(rel)-1 {
				sep = "\n"
			}
			fmt.Fprintf(b, "\\fB%s\\fP(1)%s", roffEscape(strings.ReplaceAll(r.CommandPath(), " ", "-")), sep)
		}
	}
}

// roffText writes help text as roff paragraphs: an empty line starts a
// new paragraph, and a ``` fence (see fenceIndented) a block set as is.
func roffText(b *bytes.Buffer, text string) {
	b.WriteString(".PP\n")
	verbatim := false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case l == "```":
			if verbatim {
				b.WriteString(".fi\n.RE\n")
			} else {
				b.WriteString(".RS\n.nf\n")
			}
			verbatim = !verbatim
		case verbatim:
			b.WriteString(roffLine(l) + "\n")
		case strings.TrimSpace(l) == "":
			b.WriteString(".PP\n")
		default:
			b.WriteString(roffLine(l) + "\n")
		}
	}
	if verbatim {
		b.WriteString(".fi\n.RE\n")
	}
}

// roffEscape escapes text for roff: backslashes and hyphens.
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLine escapes a line of text, guarding a leading dot or quote that
// roff would take for a request.
func roffLine(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roffQuote quotes an argument of a roff request (.TH's title keeps its
// hyphens as they are).
func roffQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\e`, `"`, `\(dq`).Replace(s) + `"`
}
