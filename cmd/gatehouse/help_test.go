package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/gatehouse-auth/gatehouse/infrastructure/config"
)

// commands returns every command of the grammar, groups and leaves, in
// the order of the usage: a command added to commandLine is covered by
// the help tests without being listed here.
func commands(t *testing.T) []*kong.Node {
	t.Helper()
	k, err := config.NewParser(&commandLine{}, func(string) string { return "" }, kong.Name("gatehouse"), kong.NoDefaultHelp())
	if err != nil {
		t.Fatal(err)
	}
	var out []*kong.Node
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, c := range n.Children {
			if c.Type == kong.CommandNode {
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(k.Model.Node)
	return out
}

// helpOf runs args in a fresh directory's database and checks that it
// printed a usage to stdout and exited 0 without creating any file.
func helpOf(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"GATEHOUSE_DB": filepath.Join(dir, "gatehouse.db")}
	out, errOut, code := cliEnv(t, env, "", args...)
	if code != 0 || !strings.HasPrefix(out, "usage: ") || errOut != "" {
		t.Errorf("gatehouse %s = exit %d\nstdout %q\nstderr %q\nwant exit 0 and a usage", strings.Join(args, " "), code, out, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("gatehouse %s created %v", strings.Join(args, " "), entries)
	}
	return out
}

// wantListed fails when out lacks any of words, each as a whole column
// (between spaces or at a line's end).
func wantListed(t *testing.T, what, out string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(out, " "+w+" ") && !strings.Contains(out, " "+w+"\n") {
			t.Errorf("%s does not list %s", what, w)
		}
	}
}

// TestHelpEverywhere: --help and -h on every command and group print its
// usage to stdout and exit 0, even after its arguments, without opening
// the database. A command's usage lists its own flags and, when it reads
// the settings, every setting's flag and variable, the two secrets'
// variables included; serve's also names the OpenTelemetry variables.
func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	variables, flags := settingsOf(t)
	for _, secret := range []string{"GATEHOUSE_JWT_SECRET", "GATEHOUSE_KEY_ENCRYPTION_KEY"} {
		if !strings.Contains(strings.Join(variables, " ")+" ", secret+" ") {
			t.Fatalf("config.Config has no %s", secret)
		}
	}
	for _, node := range commands(t) {
		path := strings.Fields(node.Path())
		t.Run(node.Path(), func(t *testing.T) {
			t.Parallel()
			out := helpOf(t, append(path, "--help")...)
			if short := helpOf(t, append(path, "-h")...); short != out {
				t.Errorf("gatehouse %s -h differs from --help", node.Path())
			}
			if len(node.Children) > 0 {
				for _, c := range node.Children {
					wantListed(t, node.Path()+" --help", out, c.Path())
				}
				return
			}
			if !strings.HasPrefix(out, "usage: gatehouse "+synopsis(node)+"\n") {
				t.Errorf("gatehouse %s --help starts %.80q; want its synopsis", node.Path(), out)
			}
			if len(node.Positional) > 0 {
				// The help wins over the arguments before it.
				helpOf(t, slices.Concat(path, []string{"x", "--help"})...)
			}
			for _, f := range visibleFlags(node.Flags) {
				wantListed(t, node.Path()+" --help", out, flagUsage(f))
			}
			if readsSettings(node) {
				wantListed(t, node.Path()+" --help", out, append(variables, flags...)...)
				// A setting before it changes nothing.
				helpOf(t, slices.Concat(path, []string{"--log-level", "debug", "--help"})...)
			} else if strings.Contains(out, "GATEHOUSE_") {
				t.Errorf("gatehouse %s --help lists settings it does not read", node.Path())
			}
			if _, ok := node.Target.Interface().(serveCmd); ok {
				wantTracing(t, node.Path()+" --help", out)
			}
		})
	}
}

// wantTracing fails when out lacks the main OTEL_* variables or the
// pointer to the page that lists them all.
func wantTracing(t *testing.T, what, out string) {
	t.Helper()
	wantListed(t, what, out, "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME")
	if !strings.Contains(out, "docs/observability.md") {
		t.Errorf("%s does not point to docs/observability.md", what)
	}
}

// TestRootHelp: "gatehouse --help", "-h" and "help" list every command in
// DESIGN.md's form, each help text in one column (never run into a long
// synopsis), then the settings and the tracing variables.
func TestRootHelp(t *testing.T) {
	t.Parallel()
	variables, flags := settingsOf(t)
	out := helpOf(t, "--help")
	for _, args := range [][]string{{"-h"}, {"help"}} {
		if other := helpOf(t, args...); other != out {
			t.Errorf("gatehouse %s differs from --help", args[0])
		}
	}
	commandsPart, _, _ := strings.Cut(out, "\nRun \"gatehouse COMMAND --help\"")
	for _, node := range commands(t) {
		if len(node.Children) > 0 {
			continue
		}
		words := synopsis(node)
		if node.Parent.Type == kong.CommandNode {
			words = strings.TrimPrefix(words, node.Parent.Name+" ")
		}
		if !strings.Contains(commandsPart, " "+words) {
			t.Errorf("gatehouse --help does not list %q", words)
		}
	}
	for _, want := range []string{"gatehouse keys list | rotate [--alg ALG]\n", "gatehouse apikey add USER --name N"} {
		if !strings.Contains(commandsPart, want) {
			t.Errorf("gatehouse --help lacks %q", want)
		}
	}
	column := -1
	for _, node := range commands(t) {
		if node.Parent.Type != kong.ApplicationNode || len(node.Children) > 0 {
			continue
		}
		at := strings.Index(out, "\n  gatehouse "+synopsis(node)) + 1
		line, rest, _ := strings.Cut(out[at:], "\n")
		if i := strings.Index(line, node.Help); i >= 0 {
			column = wantColumn(t, node.Path(), column, i)
		} else if next, _, _ := strings.Cut(rest, "\n"); strings.TrimSpace(next) == node.Help {
			column = wantColumn(t, node.Path(), column, strings.Index(next, node.Help))
		} else {
			t.Errorf("gatehouse --help: %s's help is neither beside its synopsis nor below it:\n%s\n%s", node.Path(), line, rest)
		}
	}
	wantListed(t, "gatehouse --help", out, append(variables, flags...)...)
	wantTracing(t, "gatehouse --help", out)
}

// wantColumn checks that a command's help starts in the column of the
// others (column is -1 for the first) and returns that column.
func wantColumn(t *testing.T, command string, column, got int) int {
	t.Helper()
	if column >= 0 && got != column {
		t.Errorf("gatehouse --help: %s's help starts in column %d; the others' in %d", command, got, column)
	}
	return got
}

// TestHelpBinaryCreatesNothing runs the built binary in an empty working
// directory with the default database path.
func TestHelpBinaryCreatesNothing(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	for _, args := range [][]string{{"serve", "--help"}, {"user", "add", "--help"}, {"keys", "rotate", "-h"}} {
		dir := t.TempDir()
		cmd := execIn(dir, bin, args...)
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "usage:") {
			t.Errorf("gatehouse %s = %v, %q; want exit 0 and a usage", strings.Join(args, " "), err, out)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("gatehouse %s created %v in the working directory", strings.Join(args, " "), entries)
		}
	}
}

// execIn prepares bin with args in dir, without any GATEHOUSE_ setting.
func execIn(dir, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}
