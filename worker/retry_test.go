package worker

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestNextDelay_JitterWithinBounds(t *testing.T) {
	sched := []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}
	rng := rand.New(rand.NewPCG(1, 2))
	for try := 1; try <= len(sched); try++ {
		base := sched[try-1]
		lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
		var minSeen, maxSeen time.Duration = hi, lo
		for range 10000 {
			d, ok := NextDelay(sched, try, rng.Float64())
			if !ok {
				t.Fatalf("try %d: schedule exhausted early", try)
			}
			if d < lo || d >= hi {
				t.Fatalf("try %d: delay %v outside [%v, %v)", try, d, lo, hi)
			}
			minSeen, maxSeen = min(minSeen, d), max(maxSeen, d)
		}
		// The jitter is used, not just allowed: the spread covers most of
		// the band.
		if maxSeen-minSeen < time.Duration(float64(base)*0.35) {
			t.Errorf("try %d: delays spread only %v..%v", try, minSeen, maxSeen)
		}
	}
	for _, rnd := range []float64{0, 0.5, 0.999999} {
		if d, _ := NextDelay(sched, 1, rnd); d < 4*time.Second || d >= 6*time.Second {
			t.Errorf("rnd %v: delay %v", rnd, d)
		}
	}
	if _, ok := NextDelay(sched, len(sched)+1, 0.5); ok {
		t.Error("a try past the schedule was given a delay")
	}
	if _, ok := NextDelay(sched, 0, 0.5); ok {
		t.Error("try 0 was given a delay")
	}
}

func TestHonourRetryAfter(t *testing.T) {
	sched := []time.Duration{5 * time.Second, time.Minute, time.Hour}
	for _, tc := range []struct {
		scheduled, retryAfter, want time.Duration
	}{
		{5 * time.Second, 0, 5 * time.Second},               // none given
		{5 * time.Second, time.Second, 5 * time.Second},     // never faster than the schedule
		{5 * time.Second, 2 * time.Minute, 2 * time.Minute}, // slower is honoured
		{5 * time.Second, 48 * time.Hour, time.Hour},        // up to the schedule's longest delay
		{2 * time.Hour, 3 * time.Hour, 2 * time.Hour},       // a jittered delay past the longest stays
	} {
		if got := HonourRetryAfter(tc.scheduled, tc.retryAfter, sched); got != tc.want {
			t.Errorf("HonourRetryAfter(%v, %v) = %v, want %v", tc.scheduled, tc.retryAfter, got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"soon", 0, false},
		{"", 0, false},
		{"-5", 0, false},
	} {
		got, ok := ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
