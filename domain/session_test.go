package domain

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateUserAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"short", "curl/8.5.0", "curl/8.5.0"},
		{"exactly the limit", strings.Repeat("a", MaxUserAgentLen), strings.Repeat("a", MaxUserAgentLen)},
		{"ascii over", strings.Repeat("a", 300), strings.Repeat("a", MaxUserAgentLen)},
		// "x" then 2-byte runes: byte 256 falls inside a rune, so the cut
		// backs off to 255 bytes rather than split it.
		{"rune across the limit", "x" + strings.Repeat("é", 200), "x" + strings.Repeat("é", 127)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := TruncateUserAgent(tt.in)
			if got != tt.want || !utf8.ValidString(got) {
				t.Errorf("TruncateUserAgent(%d bytes) = %d bytes %q; want %d bytes", len(tt.in), len(got), got, len(tt.want))
			}
		})
	}
}
