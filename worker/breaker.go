package worker

import (
	"math"
	"sync"
	"time"

	"github.com/hookline/hookline/internal/ttlcache"
)

// BreakerOptions configure the per-endpoint circuit breaker. The zero value
// is the production setting: on, opening when at least 90 % of at least 20
// attempts that started within the last 30 s failed, those failures having
// started in at least 5 distinct seconds of the window.
type BreakerOptions struct {
	// Disabled turns the breaker off: every due attempt is made.
	Disabled bool
	// Window is how far back attempts count (default 30 s). It is kept in
	// 30 buckets, by the time each attempt started.
	Window time.Duration
	// MinAttempts is how many attempts the window must hold before the
	// circuit can open (default 20).
	MinAttempts int
	// FailureRatio is the share of the window's attempts that must have
	// failed for the circuit to open (default 0.9).
	FailureRatio float64
	// Cooldown is how long the circuit first stays open (default 30 s);
	// each failed half-open round doubles it, up to MaxCooldown (default
	// 5 min). It is never longer than the retry delay of the failed
	// attempt that opened the circuit (with a floor of a second), so a
	// delivery is not held much past its own next try.
	Cooldown    time.Duration
	MaxCooldown time.Duration
	// Probes is how many attempts a half-open circuit lets through
	// (default 5); 40 % of them succeeding closes it again.
	Probes int
	// MaxEndpoints bounds how many endpoints' state the breaker keeps
	// (default 10,000, about 1 KB each); the least recently used one is
	// forgotten first, as is one untouched for 10 minutes.
	MaxEndpoints int
}

func (o *BreakerOptions) defaults() {
	if o.Window <= 0 {
		o.Window = 30 * time.Second
	}
	if o.MinAttempts <= 0 {
		o.MinAttempts = 20
	}
	if o.FailureRatio <= 0 || o.FailureRatio > 1 {
		o.FailureRatio = 0.9
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 30 * time.Second
	}
	if o.MaxCooldown < o.Cooldown {
		o.MaxCooldown = max(5*time.Minute, o.Cooldown)
	}
	if o.Probes <= 0 {
		o.Probes = 5
	}
	if o.MaxEndpoints <= 0 {
		o.MaxEndpoints = 10_000
	}
}

const (
	// windowBuckets is how many slices the window is kept in.
	windowBuckets = 30
	// minFailingBuckets is how many distinct slices of the window must
	// hold failed attempts for the circuit to open: a burst of requests
	// that stalled together (and so started together) is one slice, not
	// an endpoint that is down.
	minFailingBuckets = 5
	// probeCloseRatio is the share of a half-open round's probes that must
	// succeed to close the circuit.
	probeCloseRatio = 0.4
	// minCooldown is the shortest open period: asynq schedules in whole
	// seconds.
	minCooldown = time.Second
	// breakerTTL forgets an endpoint not attempted for this long; it is
	// longer than MaxCooldown, so an open circuit is not forgotten while
	// its deliveries wait.
	breakerTTL = 10 * time.Minute
)

type circuitState uint8

const (
	stateClosed circuitState = iota
	stateOpen
	stateHalfOpen
)

// breaker is the per-endpoint circuit breaker, local to one worker process.
//
// Closed, it counts attempts in a sliding window by the time they started
// and opens when the window holds at least MinAttempts attempts, at least
// FailureRatio of them failed, and the failures started in at least
// minFailingBuckets distinct buckets. Counting by start time and requiring
// that spread is what keeps a burst of simultaneous timeouts (twenty
// requests that stalled together and fail together) from opening it.
//
// Open, deliveries are postponed (no attempt, no worker slot held) until
// the cooldown ends. Half-open, it lets Probes attempts through, preferring
// deliveries whose own next retry is no further away than the cooldown (so
// a failed probe does not push its message deep into its schedule); it
// closes once 40 % of them succeeded and reopens, for twice as long, once
// that can no longer happen.
//
// State for at most MaxEndpoints endpoints is kept, in a TTL cache (internal/ttlcache).
// An endpoint takes an entry at its first failure (healthy endpoints cost
// nothing, and cannot crowd out the circuits of failing ones), so the
// window counts attempts from that failure on. Forgetting an endpoint
// costs about MinAttempts attempts before its circuit opens again. Safe
// for concurrent use.
type breaker struct {
	opts         BreakerOptions
	bucket       time.Duration
	probeTimeout time.Duration

	mu    sync.Mutex // guards every circuit
	state *ttlcache.Cache[string, *circuit]
}

// circuit is one endpoint's state, guarded by breaker.mu.
type circuit struct {
	state circuitState
	gen   uint64 // bumped on every state change; stale outcomes are ignored

	// closed: the sliding window.
	buckets [windowBuckets]windowBucket

	// open and half-open.
	openUntil time.Time
	cooldown  time.Duration // the current open period
	reopens   int

	// half-open.
	halfOpenAt time.Time
	sent       int
	succeeded  int
	failed     int
}

type windowBucket struct {
	n            int64 // bucket number (start time / bucket length)
	total, fails int32
}

// ticket is what allow hands an attempt, for done to match its outcome to
// the state it was allowed in.
type ticket struct {
	gen   uint64
	probe bool
	start time.Time
}

// newBreaker returns a breaker with o's settings (zero fields are the
// defaults); probeTimeout frees a half-open round whose probes never
// reported (their worker died).
func newBreaker(o BreakerOptions, probeTimeout time.Duration) *breaker {
	o.defaults()
	return &breaker{
		opts: o, bucket: max(o.Window/windowBuckets, time.Millisecond), probeTimeout: probeTimeout,
		state: ttlcache.New[string, *circuit](o.MaxEndpoints, breakerTTL),
	}
}

// allow says whether an attempt to endpoint may go now. probeCost is the
// retry delay the delivery would get if this attempt failed (0 if none).
// When the attempt may not go, wait is how long to postpone it.
func (b *breaker) allow(endpoint string, probeCost time.Duration, now time.Time) (t ticket, ok bool, wait time.Duration) {
	if b.opts.Disabled {
		return ticket{start: now}, true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, found := b.state.Get(endpoint)
	if !found {
		return ticket{start: now}, true, 0
	}
	switch c.state {
	case stateClosed:
		return ticket{gen: c.gen, start: now}, true, 0
	case stateOpen:
		if now.Before(c.openUntil) {
			return ticket{}, false, c.openUntil.Sub(now)
		}
		c.state, c.gen = stateHalfOpen, c.gen+1
		c.halfOpenAt, c.sent, c.succeeded, c.failed = now, 0, 0, 0
	}
	// Half-open.
	if now.Sub(c.halfOpenAt) > b.probeTimeout {
		// The round's probes never all reported: start a new one.
		c.gen++
		c.halfOpenAt, c.sent, c.succeeded, c.failed = now, 0, 0, 0
	}
	if c.sent >= b.opts.Probes {
		return ticket{}, false, max(minCooldown, c.cooldown/4)
	}
	// A delivery whose next retry lies far beyond the cooldown waits for
	// the round's verdict, unless no better probe has come for a whole
	// cooldown.
	if probeCost > c.cooldown+c.cooldown/4 && now.Sub(c.halfOpenAt) < c.cooldown {
		return ticket{}, false, c.cooldown
	}
	c.sent++
	return ticket{gen: c.gen, probe: true, start: now}, true, 0
}

// done records the outcome of an attempt allowed with t. retryDelay is the
// delay its delivery was given for its next try (0 if none). opened
// reports whether this outcome opened (or reopened) the circuit.
func (b *breaker) done(endpoint string, t ticket, success bool, retryDelay time.Duration, now time.Time) (opened bool) {
	if b.opts.Disabled {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c, found := b.state.Get(endpoint)
	if !found {
		if success {
			return false // nothing to remember about a healthy endpoint
		}
		c = &circuit{gen: t.gen}
	}
	if t.gen != c.gen {
		return false // allowed in a state that has since changed
	}
	defer b.state.Add(endpoint, c) // renews its expiry
	switch c.state {
	case stateClosed:
		if !c.count(t.start, success, b.bucket, now) {
			return false
		}
		if !b.tripped(c, now) {
			return false
		}
		b.open(c, b.opts.Cooldown, retryDelay, now)
		return true
	case stateHalfOpen:
		if !t.probe {
			return false
		}
		if success {
			c.succeeded++
		} else {
			c.failed++
		}
		need := int(math.Ceil(probeCloseRatio * float64(b.opts.Probes)))
		switch {
		case c.succeeded >= need:
			*c = circuit{gen: c.gen + 1}
		case c.failed > b.opts.Probes-need:
			c.reopens++
			b.open(c, b.opts.Cooldown<<min(c.reopens, 16), retryDelay, now)
			return true
		}
	}
	return false
}

// count adds an attempt that started at start to the window; false if it
// started before the window.
func (c *circuit) count(start time.Time, success bool, bucket time.Duration, now time.Time) bool {
	n := start.UnixNano() / int64(bucket)
	if now.UnixNano()/int64(bucket)-n >= windowBuckets {
		return false
	}
	wb := &c.buckets[n%windowBuckets]
	if wb.n != n {
		*wb = windowBucket{n: n}
	}
	wb.total++
	if !success {
		wb.fails++
	}
	return true
}

// tripped applies the opening rule to c's window.
func (b *breaker) tripped(c *circuit, now time.Time) bool {
	cur := now.UnixNano() / int64(b.bucket)
	var total, fails int32
	failing := 0
	for _, wb := range c.buckets {
		if cur-wb.n >= windowBuckets || wb.total == 0 {
			continue
		}
		total += wb.total
		fails += wb.fails
		if wb.fails > 0 {
			failing++
		}
	}
	return int(total) >= b.opts.MinAttempts && float64(fails) >= b.opts.FailureRatio*float64(total) &&
		failing >= minFailingBuckets
}

// open opens c for cooldown, capped by MaxCooldown and by the retry delay
// of the attempt that opened it.
func (b *breaker) open(c *circuit, cooldown, retryDelay time.Duration, now time.Time) {
	d := min(cooldown, b.opts.MaxCooldown)
	if retryDelay > 0 {
		d = min(d, max(retryDelay, minCooldown))
	}
	c.state, c.gen = stateOpen, c.gen+1
	c.cooldown, c.openUntil = d, now.Add(d)
	c.buckets = [windowBuckets]windowBucket{}
}

// openCount returns how many circuits are open or half-open, for the
// metrics.
func (b *breaker) openCount() int {
	if b.opts.Disabled {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.state.Values() {
		if c.state != stateClosed {
			n++
		}
	}
	return n
}

// len returns how many endpoints' state the breaker holds.
func (b *breaker) len() int { return b.state.Len() }
