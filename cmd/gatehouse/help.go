package main

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/alecthomas/kong"

	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
)

// errHelp stops the parse once the usage is printed: nothing is resolved,
// checked or opened, and run exits 0.
var errHelp = errors.New("help requested")

// helpFlag is --help and -h on every command.
type helpFlag bool

// IgnoreDefault keeps kong from resetting the flag (it has no default).
func (helpFlag) IgnoreDefault() {}

// BeforeReset runs as soon as the command line is traced, before any
// setting is read or any argument checked, so "user disable --help" needs
// no NAME.
func (helpFlag) BeforeReset(ctx *kong.Context) error {
	if err := ctx.PrintUsage(false); err != nil {
		return err
	}
	return errHelp
}

// printHelp is gatehouse's kong.HelpPrinter. Everything it prints comes
// from the grammar (commandLine) and the tags of config.Config, so the usage cannot
// drift from what is parsed.
func printHelp(_ kong.HelpOptions, ctx *kong.Context) error {
	w := ctx.Stdout
	node := ctx.Selected()
	switch {
	case node == nil:
		writeRootUsage(w, ctx.Model)
	case len(node.Children) > 0:
		fmt.Fprintf(w, "usage: %s SUBCOMMAND [flags]\n\n%s.\n\nsubcommands:\n", node.FullPath(), capitalise(node.Help))
		for _, child := range node.Children {
			fmt.Fprintf(w, "  gatehouse %s\n", synopsis(child))
		}
		fmt.Fprintf(w, "\nRun \"%s SUBCOMMAND --help\" for the usage of one subcommand.\n", node.FullPath())
	default:
		fmt.Fprintf(w, "usage: gatehouse %s\n\n%s.\n", synopsis(node), capitalise(node.Help))
		if node.Detail != "" {
			fmt.Fprintf(w, "\n%s\n", node.Detail)
		}
		if own := visibleFlags(node.Flags); len(own) > 0 {
			fmt.Fprintln(w, "\nflags:")
			writeFlags(w, own)
		}
		if readsSettings(node) {
			writeSettings(w, ctx.Model)
		}
		if _, ok := node.Target.Interface().(serveCmd); ok {
			writeTracing(w)
		}
	}
	return nil
}

// readsSettings reports whether a command's Run takes the settings (a
// config.Config): only then does its usage list them.
func readsSettings(node *kong.Node) bool {
	run := node.Target.MethodByName("Run")
	if !run.IsValid() {
		return false
	}
	for in := range run.Type().Ins() {
		if in == reflect.TypeFor[config.Config]() {
			return true
		}
	}
	return false
}

// tracingVariables are the OpenTelemetry SDK's own variables that matter
// most; infrastructure/tracing reads them (serve only), and
// docs/observability.md lists them all.
var tracingVariables = [][2]string{
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector base URL (http/protobuf; /v1/traces is appended): setting it turns tracing on"},
	{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "full URL for spans; wins over OTEL_EXPORTER_OTLP_ENDPOINT"},
	{"OTEL_SERVICE_NAME", "service.name of the spans (default gatehouse)"},
	{"OTEL_SDK_DISABLED", "true: tracing off even with an endpoint set"},
}

// writeTracing writes the tracing variables, which serve reads beside the
// settings, and where to find the rest.
func writeTracing(w io.Writer) {
	fmt.Fprintln(w, "\ntracing (OpenTelemetry's own variables, read by serve; all of them in docs/observability.md):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range tracingVariables {
		fmt.Fprintf(tw, "  %s\t%s\n", v[0], v[1])
	}
	tw.Flush()
}

// synopsisWidth is the width of the synopsis column of the root usage; a
// longer synopsis has its help on the next line, in the help column.
const synopsisWidth = 30

// writeRootUsage writes the commands in the form of DESIGN.md's CLI block,
// then the settings and the tracing variables.
func writeRootUsage(w io.Writer, app *kong.Application) {
	fmt.Fprintf(w, "usage: gatehouse COMMAND [flags]\n\ncommands:\n")
	for _, cmd := range app.Children {
		if len(cmd.Children) == 0 {
			if s := synopsis(cmd); len(s) > synopsisWidth {
				fmt.Fprintf(w, "  gatehouse %s\n  %*s%s\n", s, len("gatehouse ")+synopsisWidth+1, "", cmd.Help)
			} else {
				fmt.Fprintf(w, "  gatehouse %-*s %s\n", synopsisWidth, s, cmd.Help)
			}
			continue
		}
		for _, line := range groupLines(cmd) {
			fmt.Fprintf(w, "  gatehouse %s %s\n", cmd.Name, line)
		}
	}
	fmt.Fprintln(w, "\nRun \"gatehouse COMMAND --help\" for the usage of one command.")
	writeSettings(w, app)
	writeTracing(w)
}

// groupLines joins a group's subcommands with " | ", starting a new line
// after each one that has flags: "list | rotate [--alg ALG]".
func groupLines(group *kong.Node) []string {
	var lines, line []string
	for _, sub := range group.Children {
		line = append(line, strings.TrimPrefix(synopsis(sub), group.Name+" "))
		if len(visibleFlags(sub.Flags)) > 0 {
			lines = append(lines, strings.Join(line, " | "))
			line = nil
		}
	}
	if len(line) > 0 {
		lines = append(lines, strings.Join(line, " | "))
	}
	return lines
}

// synopsis is a command's words, arguments and own flags, optional ones in
// brackets: "user add NAME [--role R] [--password-stdin]".
func synopsis(node *kong.Node) string {
	parts := []string{node.Path()}
	for _, arg := range node.Positional {
		parts = append(parts, arg.Name)
	}
	for _, f := range visibleFlags(node.Flags) {
		if f.Required {
			parts = append(parts, flagUsage(f))
		} else {
			parts = append(parts, "["+flagUsage(f)+"]")
		}
	}
	return strings.Join(parts, " ")
}

// writeSettings writes every setting: flag, variable, help and default.
func writeSettings(w io.Writer, app *kong.Application) {
	fmt.Fprintln(w, "\nsettings (flag, environment variable; the flag wins):")
	writeFlags(w, visibleFlags(app.Flags))
}

func writeFlags(w io.Writer, flags []*kong.Flag) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range flags {
		text := f.Help
		if f.HasDefault && f.Default != "" {
			text += fmt.Sprintf(" (default %s)", f.Default)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", flagUsage(f), strings.Join(f.Envs, ", "), text)
	}
	tw.Flush()
}

// flagUsage is how a flag is written: "--addr ADDR", "--[no-]signup". A
// secret has no flag (config.Secret refuses the command line), only its
// variable.
func flagUsage(f *kong.Flag) string {
	switch {
	case f.Target.Type() == reflect.TypeFor[config.Secret]():
		return "(environment only)"
	case f.IsBool() && f.Tag.Negatable != "":
		return "--[no-]" + f.Name
	case f.IsBool():
		return "--" + f.Name
	}
	return "--" + f.Name + " " + f.PlaceHolder
}

// visibleFlags drops --help, which every command has.
func visibleFlags(flags []*kong.Flag) []*kong.Flag {
	var out []*kong.Flag
	for _, f := range flags {
		if _, isHelp := f.Target.Interface().(helpFlag); !isHelp && !f.Hidden {
			out = append(out, f)
		}
	}
	return out
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
