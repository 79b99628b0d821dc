package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTutorialPythonClient runs examples/client.py, written in the Flask
// tutorial's style (requests, JSON body, response.json()['token'], bare
// Authorization header), against a real server.
func TestTutorialPythonClient(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed; skipping the tutorial client check")
	}
	if err := exec.Command(py, "-c", "import requests").Run(); err != nil {
		t.Skip("python3 has no requests module; skipping the tutorial client check")
	}
	e := newTestEnv(t, nil)
	e.signUp("your_username", "your_password")

	out, err := exec.Command(py, "../../examples/client.py", e.srv.URL).CombinedOutput()
	if err != nil {
		t.Fatalf("client.py: %v\n%s", err, out)
	}
	for _, want := range []string{"Token: ey", "200 This is a protected resource", "401 Token is missing"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("client.py output lacks %q:\n%s", want, out)
		}
	}

	out, err = exec.Command(py, "../../examples/client.py", e.srv.URL, "your_username", "wrong password").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Authentication failed") {
		t.Errorf("client.py with a wrong password: err=%v, output:\n%s\nwant exit 1 and 'Authentication failed'", err, out)
	}
}
