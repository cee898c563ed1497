// Package ttlcache is a size-bounded LRU whose entries also expire after a
// fixed time, without a goroutine.
//
// golang-lru's expirable LRU, which the caches used before, runs a janitor
// per cache that wakes every TTL/100 to drop expired entries: with the
// API's caches (5 s and 10 s TTLs) that was some 60 wake-ups a second in
// an idle process, most of its idle CPU. Here an entry's expiry is checked
// when it is read, and an expired entry that is never read again is
// dropped like any other, when the LRU needs its room: memory stays bounded
// by the size alone, and an idle process does nothing.
package ttlcache

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache holds up to size entries, each for at most ttl after it was added.
// Safe for concurrent use.
type Cache[K comparable, V any] struct {
	lru *lru.Cache[K, entry[V]]
	ttl time.Duration
	now func() time.Time
}

type entry[V any] struct {
	v       V
	expires time.Time
}

// New returns a cache of size entries (at least 1) that expire ttl after
// they are added.
func New[K comparable, V any](size int, ttl time.Duration) *Cache[K, V] {
	c, err := lru.New[K, entry[V]](max(size, 1))
	if err != nil {
		panic(err) // only for a size below 1, excluded above
	}
	return &Cache[K, V]{lru: c, ttl: ttl, now: time.Now}
}

// SetClock makes the cache read time from now (tests).
func (c *Cache[K, V]) SetClock(now func() time.Time) { c.now = now }

// Add stores v under k, replacing what was there, and reports whether an
// older entry was evicted to make room.
func (c *Cache[K, V]) Add(k K, v V) (evicted bool) {
	return c.lru.Add(k, entry[V]{v: v, expires: c.now().Add(c.ttl)})
}

// Get returns the live value under k and marks it recently used; an
// expired entry is removed and reported missing.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	e, ok := c.lru.Get(k)
	if ok && c.now().Before(e.expires) {
		return e.v, true
	}
	if ok {
		c.lru.Remove(k)
	}
	var zero V
	return zero, false
}

// Peek is Get without marking the entry used (nor removing it if expired).
func (c *Cache[K, V]) Peek(k K) (V, bool) {
	e, ok := c.lru.Peek(k)
	if ok && c.now().Before(e.expires) {
		return e.v, true
	}
	var zero V
	return zero, false
}

// Contains reports whether k has a live entry, without marking it used.
func (c *Cache[K, V]) Contains(k K) bool {
	_, ok := c.Peek(k)
	return ok
}

// Remove drops k's entry and reports whether there was one.
func (c *Cache[K, V]) Remove(k K) bool { return c.lru.Remove(k) }

// Keys returns the keys of live entries, oldest first.
func (c *Cache[K, V]) Keys() []K {
	now := c.now()
	var out []K
	for _, k := range c.lru.Keys() {
		if e, ok := c.lru.Peek(k); ok && now.Before(e.expires) {
			out = append(out, k)
		}
	}
	return out
}

// Values returns the live values, oldest first.
func (c *Cache[K, V]) Values() []V {
	now := c.now()
	var out []V
	for _, e := range c.lru.Values() {
		if now.Before(e.expires) {
			out = append(out, e.v)
		}
	}
	return out
}

// Len returns how many entries are held, expired ones not yet dropped
// included: it is what the size bounds.
func (c *Cache[K, V]) Len() int { return c.lru.Len() }

// Purge drops every entry.
func (c *Cache[K, V]) Purge() { c.lru.Purge() }
