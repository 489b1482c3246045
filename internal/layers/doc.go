// Package layers holds the test that keeps eventwire's imports flowing one
// way (ARCHITECTURE.md): the contract and the plain data at the bottom, the
// planners above them, the AWS adapters beside the planners, the
// reconciler, the records store and the deployer above those, the CLI and
// the mains on top; the test kits only in tests and in internal/tools. It
// has no code of its own.
package layers
