// Package testkit holds the few helpers that tests of several packages
// share: a goroutine-safe log sink, a settable clock, an error assertion,
// a polling wait and a recording HTTP server. It is an ordinary package so that _test.go files anywhere
// in the module can import it, and it depends on the standard library only,
// so importing it never changes what a test links against.
package testkit
