// Package usecase holds Gatehouse's application rules: one type per
// capability (Register, Login, Refresh, Verify, ...). It depends only on
// domain and the standard library; every I/O, hashing and signing need is a
// port from domain, so tests run with small fakes and a fixed clock.
package usecase
