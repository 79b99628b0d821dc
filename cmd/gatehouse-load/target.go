package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// errRemote is the refusal of a target that is not this machine.
var errRemote = errors.New("refusing a target that is not a loopback address (127.0.0.0/8, ::1, localhost); pass --allow-remote to load a remote server you own")

// checkTarget parses the base URL and, unless allowRemote, refuses any host
// other than a loopback address or "localhost".
func checkTarget(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--target: %q is not an http(s) URL such as http://127.0.0.1:8080", raw)
	}
	if !allowRemote && !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("--target %s: %w", u.Host, errRemote)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// isLoopbackHost reports whether host names this machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly is a net.Dialer Control function: it refuses, after name
// resolution, any connection to an address that is not loopback, so a
// "localhost" that resolves elsewhere is refused too.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("dial %s: %w", address, errRemote)
	}
	return nil
}

// dialer returns the dial function of the load client.
func dialer(allowRemote bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if !allowRemote {
		d.Control = loopbackOnly
	}
	return d.DialContext
}
