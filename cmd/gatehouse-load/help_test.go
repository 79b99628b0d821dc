package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelp: --help (and -h) of the load command and of baseline prints
// the usage with the command's flags to stdout and exits 0, before any
// request or listener.
func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string // in the usage
	}{
		{[]string{"--help"}, []string{"-target", "-scenario", "-workers"}},
		{[]string{"-h"}, []string{"-target", "-scenario"}},
		{[]string{"baseline", "--help"}, []string{"-addr", "-for", "-allow-remote"}},
		{[]string{"baseline", "-h"}, []string{"-addr"}},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		name := strings.Join(tt.args, " ")
		if code := cli(t.Context(), tt.args, &out, &errOut, false); code != 0 {
			t.Errorf("gatehouse-load %s = exit %d; want 0", name, code)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("gatehouse-load %s stdout = %q; want %q in it", name, out.String(), w)
			}
		}
		if errOut.Len() > 0 {
			t.Errorf("gatehouse-load %s stderr = %q; want nothing", name, errOut.String())
		}
	}
}
