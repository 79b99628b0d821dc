package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// rawConn is a minimal HTTP/1.1 keep-alive client for the verify scenario:
// one connection, a prebuilt GET, and just enough response parsing to find
// the status and skip the body. net/http's client spends several times more
// CPU per request than a fast server does, so with it the load tool, not
// the server, would be measured. It is used for plain-http targets only.
type rawConn struct {
	host    string // Host header
	addr    string // dial address
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration

	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

func newRawConn(host, addr string, dial func(context.Context, string, string) (net.Conn, error), timeout time.Duration) *rawConn {
	return &rawConn{host: host, addr: addr, dial: dial, timeout: timeout}
}

// errMalformed is a response the raw client cannot read.
var errMalformed = errors.New("malformed HTTP response")

// get sends GET path with the Authorization header auth and returns the
// status code. The body is read and dropped. Any failure closes the
// connection; the next call dials again.
func (c *rawConn) get(ctx context.Context, path, auth string) (int, error) {
	status, err := c.roundTrip(ctx, path, auth)
	if err != nil {
		c.close()
	}
	return status, err
}

func (c *rawConn) roundTrip(ctx context.Context, path, auth string) (int, error) {
	if c.conn == nil {
		conn, err := c.dial(ctx, "tcp", c.addr)
		if err != nil {
			return 0, err
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return 0, err
	}
	c.req = append(c.req[:0], "GET "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.host...)
	c.req = append(c.req, "\r\nAuthorization: "...)
	c.req = append(c.req, auth...)
	c.req = append(c.req, "\r\nUser-Agent: gatehouse-load\r\n\r\n"...)
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, errMalformed
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errMalformed
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 { // the blank line
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, errMalformed
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = c.skipChunks()
	case length >= 0:
		_, err = c.br.Discard(length)
	default:
		return 0, fmt.Errorf("%w: no length", errMalformed)
	}
	if err != nil {
		return 0, err
	}
	if closing {
		c.close()
	}
	return status, nil
}

// skipChunks reads and drops a chunked body and its trailer.
func (c *rawConn) skipChunks() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		sizeText, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		size, err := strconv.ParseInt(string(sizeText), 16, 32)
		if err != nil || size < 0 {
			return errMalformed
		}
		if size == 0 {
			for {
				t, err := c.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(t) <= 2 {
					return nil
				}
			}
		}
		if _, err := c.br.Discard(int(size) + 2); err != nil {
			return err
		}
	}
}

// close drops the connection.
func (c *rawConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}
