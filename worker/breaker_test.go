package worker

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// attempt runs one attempt through b: allowed at start, done at end.
func attempt(t *testing.T, b *breaker, ep string, start, end time.Time, success bool, retry time.Duration) (opened bool) {
	t.Helper()
	tk, ok, _ := b.allow(ep, retry, start)
	if !ok {
		t.Fatalf("attempt at %v refused", start.Sub(t0))
	}
	return b.done(ep, tk, success, retry, end)
}

func isOpen(b *breaker, ep string, now time.Time) bool {
	_, ok, _ := b.allow(ep, 0, now)
	return !ok
}

// TestBreaker_OpensOnFailureRate: at production defaults the circuit opens
// once at least 90 % of at least 20 attempts of the last 30 s failed, over
// at least 5 distinct seconds; not before.
func TestBreaker_OpensOnFailureRate(t *testing.T) {
	t.Run("TwentyFailuresOverTenSeconds", func(t *testing.T) {
		b := newBreaker(BreakerOptions{}, time.Minute)
		for i := range 19 {
			at := t0.Add(time.Duration(i) * 500 * time.Millisecond)
			if attempt(t, b, "ep", at, at.Add(10*time.Millisecond), false, time.Minute) {
				t.Fatalf("opened after %d failures, minimum volume 20", i+1)
			}
		}
		at := t0.Add(10 * time.Second)
		if !attempt(t, b, "ep", at, at, false, time.Minute) {
			t.Fatal("20 failures out of 20 over 10 s did not open the circuit")
		}
		if !isOpen(b, "ep", at.Add(time.Second)) {
			t.Fatal("the circuit does not hold deliveries back")
		}
		if isOpen(b, "other", at) {
			t.Fatal("another endpoint was held by this one's circuit")
		}
	})
	t.Run("EightyFivePercentStaysClosed", func(t *testing.T) {
		b := newBreaker(BreakerOptions{}, time.Minute)
		for i := range 200 {
			at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
			ok := i%20 == 6 || i%20 == 13 || i%20 == 19 // 17 of every 20 fail, evenly
			if attempt(t, b, "ep", at, at, ok, time.Minute) {
				t.Fatalf("opened at 85 %% failures (attempt %d)", i)
			}
		}
	})
	t.Run("OldFailuresLeaveTheWindow", func(t *testing.T) {
		b := newBreaker(BreakerOptions{}, time.Minute)
		for i := range 15 {
			at := t0.Add(time.Duration(i) * time.Second)
			attempt(t, b, "ep", at, at, false, time.Minute)
		}
		// 40 s later, 15 more: never 20 within 30 s.
		for i := range 15 {
			at := t0.Add(40*time.Second + time.Duration(i)*time.Second)
			if attempt(t, b, "ep", at, at, false, time.Minute) {
				t.Fatal("failures older than the 30 s window were counted")
			}
		}
	})
}

// TestBreaker_SimultaneousTimeoutsDoNotOpen: requests that stalled together
// started together; however many fail at once, they are one slice of the
// window, not an endpoint that is down.
func TestBreaker_SimultaneousTimeoutsDoNotOpen(t *testing.T) {
	b := newBreaker(BreakerOptions{}, time.Minute)
	var tks []ticket
	for i := range 60 {
		tk, ok, _ := b.allow("ep", time.Second, t0.Add(time.Duration(i)*10*time.Millisecond))
		if !ok {
			t.Fatal("refused")
		}
		tks = append(tks, tk)
	}
	end := t0.Add(15 * time.Second) // all time out together
	for _, tk := range tks {
		if b.done("ep", tk, false, time.Second, end) {
			t.Fatal("a burst of 60 simultaneous timeouts opened the circuit")
		}
	}
	// Their retries fail quickly a second later, and again: still only
	// three distinct seconds of failures.
	for _, s := range []time.Duration{16 * time.Second, 17 * time.Second} {
		for range 60 {
			if attempt(t, b, "ep", t0.Add(s), t0.Add(s), false, time.Second) {
				t.Fatalf("opened on failures from %v only", s)
			}
		}
	}
}

// TestBreaker_TwoFailuresThenSuccess: twenty messages each failing their
// first two tries and succeeding on the third never open the circuit.
func TestBreaker_TwoFailuresThenSuccess(t *testing.T) {
	b := newBreaker(BreakerOptions{}, time.Minute)
	for try, at := range []time.Duration{0, time.Second, 2 * time.Second} {
		for i := range 20 {
			start := t0.Add(at + time.Duration(i)*time.Millisecond)
			if attempt(t, b, "ep", start, start.Add(5*time.Millisecond), try == 2, time.Second) {
				t.Fatalf("try %d of message %d opened the circuit", try+1, i)
			}
		}
	}
}

// TestBreaker_FortyPercentFailingNeverOpens: ten minutes of traffic to a
// receiver failing 40 % of calls, with bursts of 20 simultaneous stalls,
// never open the circuit.
func TestBreaker_FortyPercentFailingNeverOpens(t *testing.T) {
	b := newBreaker(BreakerOptions{}, time.Minute)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 60_000 {
		start := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		end := start.Add(20 * time.Millisecond)
		fail := rnd.Float64() < 0.35
		if i%400 < 20 { // a burst of 20 stalls, 5 % of calls
			fail, end = true, start.Add(3*time.Second)
		}
		tk, ok, _ := b.allow("ep", time.Second, start)
		if !ok {
			t.Fatalf("the circuit of a 60 %%-healthy endpoint opened at %v", start.Sub(t0))
		}
		if b.done("ep", tk, !fail, time.Second, end) {
			t.Fatalf("a 60 %%-healthy endpoint's circuit opened at %v", end.Sub(t0))
		}
	}
}

// open trips b's circuit for ep at t0+20s with failures whose deliveries
// were given retry delay retry; it returns when the circuit opened.
func open(t *testing.T, b *breaker, ep string, retry time.Duration) time.Time {
	t.Helper()
	for i := range 40 {
		at := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		if attempt(t, b, ep, at, at, false, retry) {
			return at
		}
	}
	t.Fatal("the circuit did not open")
	return time.Time{}
}

// TestBreaker_HalfOpen: after the cooldown five probes go; two successes
// close the circuit; four failures reopen it for twice as long, up to the
// maximum.
func TestBreaker_HalfOpen(t *testing.T) {
	t.Run("TwoOfFiveClose", func(t *testing.T) {
		b := newBreaker(BreakerOptions{}, time.Minute)
		at := open(t, b, "ep", time.Hour)
		if _, ok, wait := b.allow("ep", 0, at.Add(10*time.Second)); ok || wait != 20*time.Second {
			t.Fatalf("10 s into a 30 s cooldown: allowed %v, wait %v", ok, wait)
		}
		probe := at.Add(30 * time.Second)
		var tks []ticket
		for i := range 5 {
			tk, ok, _ := b.allow("ep", time.Second, probe)
			if !ok || !tk.probe {
				t.Fatalf("probe %d refused", i+1)
			}
			tks = append(tks, tk)
		}
		if _, ok, wait := b.allow("ep", time.Second, probe); ok || wait <= 0 {
			t.Fatalf("a sixth probe: allowed %v, wait %v", ok, wait)
		}
		b.done("ep", tks[0], false, time.Second, probe)
		b.done("ep", tks[1], true, time.Second, probe)
		if isOpen(b, "ep", probe) == false {
			t.Fatal("one success of five closed the circuit")
		}
		b.done("ep", tks[2], true, time.Second, probe)
		if isOpen(b, "ep", probe) || b.openCount() != 0 {
			t.Fatal("two successes of five did not close the circuit")
		}
		// The last probes' outcomes belong to the old round.
		b.done("ep", tks[3], false, time.Second, probe)
		b.done("ep", tks[4], false, time.Second, probe)
		if isOpen(b, "ep", probe) {
			t.Fatal("a finished round's late failures reopened the circuit")
		}
	})
	t.Run("FourFailuresReopenForLonger", func(t *testing.T) {
		b := newBreaker(BreakerOptions{}, time.Minute)
		at := open(t, b, "ep", time.Hour)
		for round, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
			probe := at.Add(b.opts.Cooldown << round)
			if round > 0 {
				probe = at
			}
			var tks []ticket
			for range 4 {
				tk, ok, _ := b.allow("ep", 0, probe)
				if !ok {
					t.Fatalf("round %d: probe refused", round)
				}
				tks = append(tks, tk)
			}
			for i, tk := range tks {
				if opened := b.done("ep", tk, false, time.Hour, probe); opened != (i == 3) {
					t.Fatalf("round %d: failure %d opened = %v", round, i+1, opened)
				}
			}
			if _, ok, wait := b.allow("ep", 0, probe); ok || wait != want {
				t.Fatalf("round %d: reopened for %v, want %v", round, wait, want)
			}
			at = probe.Add(want)
		}
	})
	t.Run("ProbesPreferDeliveriesNearTheirNextTry", func(t *testing.T) {
		b := newBreaker(BreakerOptions{}, time.Minute)
		at := open(t, b, "ep", time.Hour)
		probe := at.Add(30 * time.Second)
		// A delivery whose failure would postpone it two hours waits for
		// the round's verdict...
		if _, ok, _ := b.allow("ep", 2*time.Hour, probe); ok {
			t.Fatal("a delivery deep in its schedule was made a probe")
		}
		if _, ok, _ := b.allow("ep", 30*time.Second, probe); !ok {
			t.Fatal("a delivery whose next try is one cooldown away was refused as a probe")
		}
		// ...unless no better probe came for a whole cooldown.
		if _, ok, _ := b.allow("ep", 2*time.Hour, probe.Add(31*time.Second)); !ok {
			t.Fatal("no probe at all after a cooldown in half-open")
		}
	})
	t.Run("StuckProbesExpire", func(t *testing.T) {
		b := newBreaker(BreakerOptions{}, time.Minute)
		at := open(t, b, "ep", time.Hour)
		probe := at.Add(30 * time.Second)
		for range 5 {
			b.allow("ep", 0, probe) // never report
		}
		if _, ok, _ := b.allow("ep", 0, probe.Add(61*time.Second)); !ok {
			t.Fatal("probes that never reported hold the circuit half-open for ever")
		}
	})
}

// TestBreaker_CooldownBoundedByRetryDelay: the circuit never stays open
// (much) longer than the retry delay of the failure that opened it.
func TestBreaker_CooldownBoundedByRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		retry, want time.Duration
	}{
		{time.Hour, 30 * time.Second},
		{5 * time.Second, 5 * time.Second},
		{time.Second, time.Second},
		{100 * time.Millisecond, time.Second}, // asynq's granularity
		{0, 30 * time.Second},                 // no retry: the cooldown
	} {
		t.Run(tc.retry.String(), func(t *testing.T) {
			b := newBreaker(BreakerOptions{}, time.Minute)
			at := open(t, b, "ep", tc.retry)
			if _, ok, wait := b.allow("ep", 0, at); ok || wait != tc.want {
				t.Fatalf("open for %v after a failure retried in %v, want %v", wait, tc.retry, tc.want)
			}
		})
	}
}

// TestBreaker_StaleOutcomes: attempts allowed before the circuit opened
// that report afterwards change nothing.
func TestBreaker_StaleOutcomes(t *testing.T) {
	b := newBreaker(BreakerOptions{}, time.Minute)
	early, _, _ := b.allow("ep", 0, t0)
	at := open(t, b, "ep", time.Hour)
	b.done("ep", early, true, 0, at.Add(time.Second))
	if !isOpen(b, "ep", at.Add(2*time.Second)) {
		t.Fatal("a success that started before the circuit opened closed it")
	}
}

// TestBreaker_Disabled: with the breaker off every attempt goes.
func TestBreaker_Disabled(t *testing.T) {
	b := newBreaker(BreakerOptions{Disabled: true}, time.Minute)
	for i := range 100 {
		at := t0.Add(time.Duration(i) * time.Second)
		if attempt(t, b, "ep", at, at, false, time.Second) {
			t.Fatal("a disabled breaker opened")
		}
	}
	if b.len() != 0 {
		t.Fatalf("a disabled breaker holds %d endpoints", b.len())
	}
}

// TestBreaker_Bounded: 100,000 distinct failing endpoints leave the breaker
// holding its documented limit of 10,000, the most recent ones; healthy
// endpoints cost nothing.
func TestBreaker_Bounded(t *testing.T) {
	b := newBreaker(BreakerOptions{}, time.Minute)
	for i := range 100_000 {
		ep := fmt.Sprintf("ep_%d", i)
		attempt(t, b, ep, t0, t0, false, time.Second)
		if n := b.len(); n > 10_000 {
			t.Fatalf("after %d endpoints the breaker holds %d, limit 10,000", i+1, n)
		}
	}
	if n := b.len(); n != 10_000 {
		t.Fatalf("the breaker holds %d endpoints, want its limit of 10,000", n)
	}
	// The newest are kept: ep_99999's failure is still counted.
	if _, ok := b.state.Peek("ep_99999"); !ok {
		t.Error("the most recent endpoint was evicted")
	}
	for i := range 1000 {
		attempt(t, b, fmt.Sprintf("ok_%d", i), t0, t0, true, 0)
	}
	if _, ok := b.state.Peek("ok_1"); ok {
		t.Error("a healthy endpoint took a place in the breaker")
	}
}

// TestOptions_ZeroIsProduction: the zero value of Options runs the breaker
// with its production numbers and the production retry schedule.
func TestOptions_ZeroIsProduction(t *testing.T) {
	var o Options
	o.defaults()
	want := BreakerOptions{Window: 30 * time.Second, MinAttempts: 20, FailureRatio: 0.9, Cooldown: 30 * time.Second,
		MaxCooldown: 5 * time.Minute, Probes: 5, MaxEndpoints: 10_000}
	if o.Breaker != want {
		t.Errorf("zero Options' breaker = %+v, want %+v", o.Breaker, want)
	}
	if len(o.RetrySchedule) != 10 || o.RetrySchedule[0] != 5*time.Second || o.RetrySchedule[9] != 10*time.Hour {
		t.Errorf("zero Options' retry schedule = %v", o.RetrySchedule)
	}
	none := Options{RetrySchedule: []time.Duration{}}
	none.defaults()
	if len(none.RetrySchedule) != 0 {
		t.Errorf("an empty schedule became %v; it means no retries", none.RetrySchedule)
	}
}
