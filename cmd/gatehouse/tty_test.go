package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ttyDriver runs a command in a pseudo-terminal, answers each password
// prompt, and prints everything the terminal showed.
const ttyDriver = `
import os, pty, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen, answers = b"", [b"a terminal password\n", b"a terminal password\n"]
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if seen.endswith(b"assword: ") and answers:
        # Type only once the program has turned echo off, as a person
        # reading the prompt would.
        deadline = time.time() + 10
        while termios.tcgetattr(fd)[3] & termios.ECHO and time.time() < deadline:
            time.sleep(0.01)
        os.write(fd, answers.pop(0))
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
`

// TestPasswordPromptOnTerminal runs "user add" on a real pseudo-terminal:
// it prompts twice, does not echo the password, and the user can log in.
func TestPasswordPromptOnTerminal(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed; skipping the terminal prompt check")
	}
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	out, err := exec.Command(py, "-c", ttyDriver, bin, "user", "add", "erin", "--db", db).CombinedOutput()
	if err != nil {
		t.Fatalf("user add on a terminal: %v\n%s", err, out)
	}
	screen := string(out)
	if strings.Count(screen, "assword: ") != 2 || !strings.Contains(screen, "created user erin") {
		t.Errorf("terminal showed %q; want two prompts and the confirmation", screen)
	}
	if strings.Contains(screen, "a terminal password") {
		t.Errorf("the password was echoed on the terminal: %q", screen)
	}
	env := []string{"GATEHOUSE_DB=" + db, "GATEHOUSE_LOG_LEVEL=warn"}
	_, base, _ := startServe(t, bin, env)
	c := &cluster{t: t, bin: bin}
	c.login(base, "erin", "a terminal password")
}
