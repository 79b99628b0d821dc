package config_test

import (
	"strings"
	"testing"
	"time"
)

func TestRevocationMaxStaleness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    time.Duration
		wantErr bool
	}{
		{name: "default", want: 30 * time.Second},
		{name: "environment", env: map[string]string{"GATEHOUSE_REVOCATION_MAX_STALENESS": "1m"}, want: time.Minute},
		{name: "flag wins", args: []string{"--revocation-max-staleness", "45s"},
			env: map[string]string{"GATEHOUSE_REVOCATION_MAX_STALENESS": "1m"}, want: 45 * time.Second},
		{name: "equal to the sync interval",
			env: map[string]string{"GATEHOUSE_REVOCATION_SYNC": "5s", "GATEHOUSE_REVOCATION_MAX_STALENESS": "5s"}, want: 5 * time.Second},
		{name: "zero", env: map[string]string{"GATEHOUSE_REVOCATION_MAX_STALENESS": "0s"}, wantErr: true},
		{name: "negative", env: map[string]string{"GATEHOUSE_REVOCATION_MAX_STALENESS": "-30s"}, wantErr: true},
		{name: "not a duration", env: map[string]string{"GATEHOUSE_REVOCATION_MAX_STALENESS": "soon"}, wantErr: true},
		{name: "below the default sync interval", env: map[string]string{"GATEHOUSE_REVOCATION_MAX_STALENESS": "1s"}, wantErr: true},
		{name: "below a longer sync interval",
			env: map[string]string{"GATEHOUSE_REVOCATION_SYNC": "1m", "GATEHOUSE_REVOCATION_MAX_STALENESS": "30s"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(tt.args, tt.env)
			switch {
			case tt.wantErr && (err == nil || !strings.Contains(err.Error(), "--revocation-max-staleness") || strings.Contains(err.Error(), "\n")):
				t.Errorf("Load(%v, %v) = %v; want one line naming --revocation-max-staleness", tt.args, tt.env, err)
			case !tt.wantErr && (err != nil || c.RevocationMaxStale != tt.want):
				t.Errorf("Load(%v, %v) = %v, %v; want %v", tt.args, tt.env, c.RevocationMaxStale, err, tt.want)
			}
		})
	}
}
