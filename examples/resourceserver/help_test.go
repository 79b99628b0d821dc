package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestHelp: --help (and -h) prints the usage with every flag to stdout and
// succeeds (main exits 0), with or without the client credentials set.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--help", "-h"} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{arg}, func(string) string { return "" }, &out, &errOut)
		if err != nil {
			t.Fatalf("run(%s) = %v; want nil (exit 0)", arg, err)
		}
		for _, want := range []string{"Usage: resourceserver", "-gatehouse", "-revocation-max-staleness", "-client-id", "GATEHOUSE_CLIENT_SECRET"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run(%s) stdout = %q; want %q in it", arg, out.String(), want)
			}
		}
		if errOut.Len() > 0 {
			t.Errorf("run(%s) stderr = %q; want nothing", arg, errOut.String())
		}
	}
}
