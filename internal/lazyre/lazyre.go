// Package lazyre is a regular expression compiled on its first use, not
// when its package is initialised, so that a program's start-up (the
// deployer Lambda's cold start) compiles none it does not use.
//
// It imports only the standard library.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled on first use. An invalid
// pattern panics then, as regexp.MustCompile does.
type Regexp struct {
	pattern string
	re      func() *regexp.Regexp
}

// New returns the regular expression pattern, not compiled yet.
func New(pattern string) *Regexp {
	return &Regexp{pattern: pattern, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })}
}

// MatchString reports whether s matches.
func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

// FindStringSubmatch is regexp.Regexp's FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.re().FindStringSubmatch(s) }

// String returns the pattern.
func (r *Regexp) String() string { return r.pattern }
