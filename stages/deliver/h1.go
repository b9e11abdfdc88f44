package deliver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// h1 timeouts and bounds, as Go's default transport has them.
const (
	h1DialTimeout      = 30 * time.Second
	h1KeepAlive        = 30 * time.Second
	h1HandshakeTimeout = 10 * time.Second
	h1IdleTimeout      = 90 * time.Second
)

// h1Pool is a pool of HTTP/1.1 connections to one endpoint (host:port and
// TLS settings), used by the goroutine that sends on them: a request is
// written in one write and its answer read on the calling goroutine, with
// no reader or writer goroutine per connection. It opens at most max
// connections; a send that finds none idle and the pool full waits for
// one to be returned. Idle connections are closed when found older than
// h1IdleTimeout. It is safe for concurrent use.
type h1Pool struct {
	addr string      // host:port dialled
	tls  *tls.Config // nil: plain TCP; else with ServerName set

	mu      sync.Mutex
	max     int
	open    int            // connections open or being dialled
	idle    []*h1Conn      // most recently used last
	waiters []chan *h1Conn // FIFO; nil sent means "dial one"
	dialer  net.Dialer
}

// h1Conn is one connection with its read buffer and request buffer.
type h1Conn struct {
	nc     net.Conn
	br     *bufio.Reader
	buf    []byte
	used   time.Time // when it was last returned idle
	reused bool      // it carried an answer before
}

func newH1Pool(addr string, tlsCfg *tls.Config, max int) *h1Pool {
	return &h1Pool{addr: addr, tls: tlsCfg, max: max,
		dialer: net.Dialer{Timeout: h1DialTimeout, KeepAlive: h1KeepAlive}}
}

// grow raises the pool's connection bound by n (another connector shares
// it).
func (p *h1Pool) grow(n int) {
	p.mu.Lock()
	p.max = min(p.max+n, maxIdlePerHost) // reloads grow it again
	p.mu.Unlock()
}

// get returns an idle connection, or dials one while the pool has room,
// or waits for one to be returned, until ctx ends. fresh asks for a new
// connection (a retry after a stale one).
func (p *h1Pool) get(ctx context.Context, fresh bool) (*h1Conn, error) {
	p.mu.Lock()
	for !fresh && len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		if time.Since(c.used) < h1IdleTimeout {
			p.mu.Unlock()
			return c, nil
		}
		p.open--
		c.nc.Close()
	}
	if p.open < p.max {
		p.open++
		p.mu.Unlock()
		return p.dial(ctx)
	}
	ch := make(chan *h1Conn, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	select {
	case c := <-ch:
		if c == nil {
			return p.dial(ctx)
		}
		return c, nil
	case <-ctx.Done():
		p.mu.Lock()
		for i, w := range p.waiters {
			if w == ch {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				p.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		p.mu.Unlock()
		// Handed a connection (or a dial) meanwhile: pass it on.
		if c := <-ch; c != nil {
			p.put(c)
		} else {
			p.closed()
		}
		return nil, ctx.Err()
	}
}

// dial opens a connection, counted in open already; on failure the count
// is given back.
func (p *h1Pool) dial(ctx context.Context) (*h1Conn, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err == nil && p.tls != nil {
		tc := tls.Client(nc, p.tls)
		hctx, cancel := context.WithTimeout(ctx, h1HandshakeTimeout)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
		}
		nc = tc
	}
	if err != nil {
		p.closed()
		return nil, err
	}
	return &h1Conn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// put returns a connection whose last answer was read whole: to a waiter,
// or to the idle list.
func (p *h1Pool) put(c *h1Conn) {
	c.reused = true
	c.used = time.Now()
	p.mu.Lock()
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- c
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// drop closes a connection that cannot be reused.
func (p *h1Pool) drop(c *h1Conn) {
	c.nc.Close()
	p.closed()
}

// closed gives back a connection's place: a waiter may dial.
func (p *h1Pool) closed() {
	p.mu.Lock()
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- nil
		return
	}
	p.open--
	p.mu.Unlock()
}

// errStale is a reused connection that the endpoint had closed: nothing
// of an answer was read.
var errStale = errors.New("connection closed by the endpoint before an answer")

// roundTrip writes req (a whole request) on a connection of p and reads
// the answer's head, discarding its body, before deadline or ctx's end. A
// kept-alive connection the endpoint closed meanwhile is retried once on
// a new connection: the endpoint answered nothing on it.
func (p *h1Pool) roundTrip(ctx context.Context, deadline time.Time, req []byte) (h1Answer, error) {
	for attempt := 0; ; attempt++ {
		c, err := p.get(ctx, attempt > 0)
		if err != nil {
			return h1Answer{}, err
		}
		a, err := c.exchange(ctx, deadline, req)
		switch {
		case err == nil && a.reusable:
			p.put(c)
			return a, nil
		case err == nil:
			p.drop(c)
			return a, nil
		}
		p.drop(c)
		if !errors.Is(err, errStale) || attempt > 0 {
			return h1Answer{}, err
		}
	}
}

// exchange sends req on c and reads the answer. The connection's deadline
// is deadline, and moves to the past when ctx ends first; a connection
// whose deadline ctx's end may still move is not reused.
func (c *h1Conn) exchange(ctx context.Context, deadline time.Time, req []byte) (h1Answer, error) {
	if err := c.nc.SetDeadline(deadline); err != nil {
		return h1Answer{}, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	if _, err := c.nc.Write(req); err != nil {
		stop()
		if c.reused && ctx.Err() == nil && time.Now().Before(deadline) {
			return h1Answer{}, errStale
		}
		return h1Answer{}, err
	}
	a, err := readAnswer(c.br, c.reused)
	if !stop() {
		a.reusable = false
	}
	return a, err
}
