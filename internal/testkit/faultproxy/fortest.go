package faultproxy

import "testing"

// ForTest starts a proxy in front of upstream for one test and stops it
// when the test ends; a proxy that cannot start fails the test.
func ForTest(tb testing.TB, upstream string, cfg Config) *Proxy {
	tb.Helper()
	p, err := Start(upstream, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}
