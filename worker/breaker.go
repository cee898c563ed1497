package worker

import (
	"sync"
	"time"
)

// breaker is a per-endpoint circuit breaker, local to this worker process.
// After threshold consecutive failures an endpoint's circuit opens:
// deliveries to it are postponed (no attempt, no worker slot held) until
// the cooldown ends; then one probe goes through. A successful probe closes
// the circuit; a failed one reopens it for twice as long, up to maxCooldown.
// Safe for concurrent use.
type breaker struct {
	threshold   int
	cooldown    time.Duration
	maxCooldown time.Duration

	mu    sync.Mutex
	state map[string]*circuit // guarded by mu
}

type circuit struct {
	fails     int
	openUntil time.Time
	cooldown  time.Duration
	probing   bool
	probeAt   time.Time
}

// probeTimeout frees a circuit whose probe never reported (its worker
// died), so another probe may go.
const probeTimeout = 2 * time.Minute

func newBreaker(threshold int, cooldown, maxCooldown time.Duration) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, maxCooldown: maxCooldown, state: map[string]*circuit{}}
}

// allow says whether an attempt to endpoint may go now; when not, wait is
// how long until the circuit lets a probe through.
func (b *breaker) allow(endpoint string, now time.Time) (ok bool, wait time.Duration) {
	if b.threshold <= 0 {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.state[endpoint]
	if c == nil || c.openUntil.IsZero() {
		return true, 0
	}
	if now.Before(c.openUntil) {
		return false, c.openUntil.Sub(now)
	}
	if c.probing && now.Sub(c.probeAt) < probeTimeout {
		return false, b.cooldown / 4
	}
	c.probing, c.probeAt = true, now
	return true, 0
}

// done records an attempt's outcome; opened reports whether this failure
// opened (or reopened) the circuit.
func (b *breaker) done(endpoint string, success bool, now time.Time) (opened bool) {
	if b.threshold <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.state[endpoint]
	if success {
		if c != nil {
			delete(b.state, endpoint)
		}
		return false
	}
	if c == nil {
		c = &circuit{}
		b.state[endpoint] = c
	}
	c.fails++
	switch {
	case c.probing:
		c.probing = false
		c.cooldown = min(c.cooldown*2, b.maxCooldown)
		c.openUntil = now.Add(c.cooldown)
		return true
	case c.openUntil.IsZero() && c.fails >= b.threshold:
		c.cooldown = b.cooldown
		c.openUntil = now.Add(c.cooldown)
		return true
	}
	return false
}

// openCount returns how many circuits are open now, for the metrics.
func (b *breaker) openCount(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.state {
		if !c.openUntil.IsZero() {
			n++
		}
	}
	return n
}
