package worker

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// dialFunc dials a TCP address, as net.Dialer.DialContext does.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// tunnelDialer returns how a raw connection (a RabbitMQ broker's) goes
// through the egress proxy pu: an HTTP CONNECT tunnel to the target,
// asked over a connection dialProxy makes (TCP, or TLS for an https://
// proxy), with pu's credentials as Basic Proxy-Authorization. What runs
// inside the tunnel (AMQP, or TLS to the broker for amqps) is end to end.
// HTTP requests do not need it: net/http speaks CONNECT itself.
//
// As for HTTP deliveries, the target's host is resolved and checked
// against the SSRF rules here, before the proxy is asked, unless
// allowPrivate; the proxy's own address is the operator's and is not
// checked. A non-nil bad (an invalid proxy URL) fails every dial rather
// than going around the proxy.
func tunnelDialer(pu *url.URL, bad error, dialProxy dialFunc, allowPrivate bool) dialFunc {
	if bad != nil {
		return func(context.Context, string, string) (net.Conn, error) {
			return nil, fmt.Errorf("egress proxy: %w", bad)
		}
	}
	proxyAddr := pu.Host
	if pu.Port() == "" {
		port := "80"
		if pu.Scheme == "https" {
			port = "443"
		}
		proxyAddr = net.JoinHostPort(pu.Hostname(), port)
	}
	var auth string
	if pu.User != nil {
		pass, _ := pu.User.Password()
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(pu.User.Username()+":"+pass))
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if !allowPrivate {
			if err := checkTarget(ctx, host); err != nil {
				return nil, err
			}
		}
		c, err := dialProxy(ctx, network, proxyAddr)
		if err != nil {
			return nil, fmt.Errorf("egress proxy: %w", err)
		}
		// The CONNECT exchange is bounded by ctx: its deadline on the
		// connection, and the connection closed if ctx ends first.
		if dl, ok := ctx.Deadline(); ok {
			_ = c.SetDeadline(dl)
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		conn, err := connect(c, addr, auth)
		if !stop() {
			err = errors.Join(ctx.Err(), err)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("egress proxy: CONNECT %s: %w", addr, err)
		}
		_ = c.SetDeadline(time.Time{})
		return conn, nil
	}
}

// connect asks the proxy on c for a tunnel to addr and returns the
// tunnel once the proxy answers 2xx.
func connect(c net.Conn, addr, auth string) (net.Conn, error) {
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
	}
	if err := req.Write(c); err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, err
	}
	// The body is left unread: after a 2xx it is the tunnel itself, and
	// after a refusal the connection is closed.
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("the proxy answered %s", resp.Status)
	}
	if br.Buffered() > 0 {
		// The target spoke before we did; keep what was read with the
		// proxy's answer.
		return &bufferedConn{Conn: c, r: br}, nil
	}
	return c, nil
}

// bufferedConn is a net.Conn whose first bytes were read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }
