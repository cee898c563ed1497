package ttlcache

import (
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestCache_ExpiresAndBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	c := New[string, int](3, 10*time.Second)
	c.SetClock(func() time.Time { return now })

	c.Add("a", 1)
	now = now.Add(5 * time.Second)
	c.Add("b", 2)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("a after 5 s of 10: %v %v", v, ok)
	}
	now = now.Add(6 * time.Second) // a is 11 s old, b 6 s
	for _, tc := range []struct {
		key  string
		want bool
	}{{"a", false}, {"b", true}, {"z", false}} {
		if got := c.Contains(tc.key); got != tc.want {
			t.Errorf("Contains(%s) = %v, want %v", tc.key, got, tc.want)
		}
		if _, got := c.Peek(tc.key); got != tc.want {
			t.Errorf("Peek(%s) = %v, want %v", tc.key, got, tc.want)
		}
	}
	if keys := c.Keys(); !slices.Equal(keys, []string{"b"}) {
		t.Errorf("Keys = %v, want only the live b", keys)
	}
	if vals := c.Values(); !slices.Equal(vals, []int{2}) {
		t.Errorf("Values = %v, want [2]", vals)
	}
	if _, ok := c.Get("a"); ok {
		t.Error("an expired entry was returned")
	}
	if c.Len() != 1 {
		t.Errorf("Len after Get dropped the expired a = %d, want 1", c.Len())
	}
	// Adding again renews an entry's time.
	c.Add("b", 3)
	now = now.Add(9 * time.Second)
	if v, ok := c.Get("b"); !ok || v != 3 {
		t.Errorf("renewed b after 9 s: %v %v", v, ok)
	}
	// The size bounds the entries, expired or not; the least recently used go.
	for i, k := range []string{"c", "d", "e"} {
		c.Add(k, i)
	}
	if c.Len() != 3 || c.Contains("b") {
		t.Errorf("after 4 adds to a cache of 3: Len %d, b kept %v", c.Len(), c.Contains("b"))
	}
	if !c.Remove("c") || c.Remove("c") {
		t.Error("Remove did not report the entry once")
	}
	c.Purge()
	if c.Len() != 0 {
		t.Errorf("Len after Purge = %d", c.Len())
	}
}

// TestCache_NoGoroutine: the reason the package exists.
func TestCache_NoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	caches := make([]*Cache[int, int], 50)
	for i := range caches {
		caches[i] = New[int, int](10, 50*time.Millisecond)
		caches[i].Add(i, i)
	}
	// Goroutines of earlier tests may still be ending (fewer is fine); a
	// cache that ran a janitor would add one each.
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("50 caches started %d goroutines", after-before)
	}
}
