package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helpCases is every command and subcommand, each with a word its usage
// must mention.
var helpCases = []struct {
	args []string
	want string
}{
	{[]string{"--help"}, "keys list | rotate [--alg ALG]"},
	{[]string{"-h"}, "serve"},
	{[]string{"help"}, "serve"},
	{[]string{"serve", "--help"}, "gatehouse serve"},
	{[]string{"serve", "-h"}, "--signing-alg"},
	{[]string{"serve", "--addr", ":0", "--help"}, "gatehouse serve"},
	{[]string{"migrate", "--help"}, "gatehouse migrate"},
	{[]string{"user", "--help"}, "passwd"},
	{[]string{"user", "-h"}, "user add"},
	{[]string{"user", "add", "--help"}, "--password-stdin"},
	{[]string{"user", "add", "alice", "-h"}, "--role"},
	{[]string{"user", "list", "--help"}, "gatehouse user list"},
	{[]string{"user", "disable", "--help"}, "gatehouse user disable NAME"},
	{[]string{"user", "enable", "--help"}, "gatehouse user enable NAME"},
	{[]string{"user", "delete", "--help"}, "gatehouse user delete NAME"},
	{[]string{"user", "passwd", "--help"}, "--password-stdin"},
	{[]string{"client", "--help"}, "client add"},
	{[]string{"client", "add", "--help"}, "--scope"},
	{[]string{"client", "list", "--help"}, "gatehouse client list"},
	{[]string{"client", "delete", "--help"}, "gatehouse client delete ID"},
	{[]string{"keys", "--help"}, "rotate"},
	{[]string{"keys", "-h"}, "keys list"},
	{[]string{"keys", "list", "--help"}, "gatehouse keys list"},
	{[]string{"keys", "rotate", "--help"}, "--alg"},
	{[]string{"keys", "rotate", "-h"}, "gatehouse keys rotate"},
	{[]string{"apikey", "--help"}, "apikey add USER --name N"},
	{[]string{"apikey", "add", "--help"}, "--expires-in"},
	{[]string{"apikey", "add", "alice", "-h"}, "--name"},
	{[]string{"apikey", "list", "--help"}, "gatehouse apikey list USER"},
	{[]string{"apikey", "revoke", "--help"}, "gatehouse apikey revoke ID"},
	{[]string{"version", "--help"}, "gatehouse version"},
}

// TestHelpEverywhere: --help and -h on every command print its usage to
// stdout and exit 0, without opening the database or creating any file.
func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	for _, tc := range helpCases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := map[string]string{"GATEHOUSE_DB": filepath.Join(dir, "gatehouse.db")}
			out, errOut, code := cliEnv(t, env, "", tc.args...)
			if code != 0 || !strings.Contains(out, "usage:") || !strings.Contains(out, tc.want) {
				t.Errorf("gatehouse %s = exit %d\nstdout %q\nstderr %q\nwant exit 0 and a usage naming %q", strings.Join(tc.args, " "), code, out, errOut, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("gatehouse %s created %v", strings.Join(tc.args, " "), entries)
			}
		})
	}
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
