package deployer_test

import (
	"testing"
	"time"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
)

// The teardown grace: a minute unless set, 0 to 900 seconds.
func TestSettingsFromEnv_TeardownGrace(t *testing.T) {
	for _, c := range []struct {
		value string
		want  time.Duration
		err   bool
	}{
		{"", time.Minute, false},
		{"0", 0, false},
		{"900", 15 * time.Minute, false},
		{"901", 0, true},
		{"-1", 0, true},
		{"1m", 0, true},
	} {
		t.Run(c.value, func(t *testing.T) {
			env := map[string]string{contract.EnvTable: "deployments", contract.EnvTeardownGraceSeconds: c.value}
			s, err := deployer.SettingsFromEnv(func(k string) string { return env[k] })
			if (err != nil) != c.err {
				t.Fatalf("error %v, want one: %v", err, c.err)
			}
			if !c.err && s.TeardownGrace != c.want {
				t.Errorf("TeardownGrace %v, want %v", s.TeardownGrace, c.want)
			}
		})
	}
}
