// Package reliability holds eventwire's reliability tests (no code): the
// real CLI, and the reconciler, through internal/testkit/faultproxy in front of
// moto, under a throttling storm, bursts of 5xx answers, dropped
// connections, a mapping stuck in Updating past the wait bound, and a
// process killed in the middle of an apply. Each test checks AWS's state
// at the end with plain SDK clients: every function wired exactly once,
// nothing duplicated, and what eventwire does not own untouched.
//
// As tests only, it may import the test kits and every product package;
// nothing imports it.
package reliability
