package worker

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// JitterFraction is how far each retry delay may move either way.
const JitterFraction = 0.2

// NextDelay returns the delay before the next try after failedTries failed
// tries (1 for the first), per sched, moved by up to ±20 % using rnd (a
// number in [0,1)). ok is false when the schedule is exhausted: the
// delivery has failed for good.
func NextDelay(sched []time.Duration, failedTries int, rnd float64) (d time.Duration, ok bool) {
	if failedTries < 1 || failedTries > len(sched) {
		return 0, false
	}
	base := sched[failedTries-1]
	return Jitter(base, rnd), true
}

// Jitter moves d by a factor in [1-JitterFraction, 1+JitterFraction) chosen
// by rnd in [0,1), so retries of many deliveries that failed together do
// not arrive together.
func Jitter(d time.Duration, rnd float64) time.Duration {
	f := 1 - JitterFraction + 2*JitterFraction*rnd
	return time.Duration(float64(d) * f)
}

// HonourRetryAfter applies a receiver's Retry-After to a scheduled delay:
// the receiver may slow retries down, up to the longest delay in the
// schedule, but never speed them up.
func HonourRetryAfter(scheduled, retryAfter time.Duration, sched []time.Duration) time.Duration {
	if retryAfter <= scheduled {
		return scheduled
	}
	var longest time.Duration
	for _, d := range sched {
		longest = max(longest, d)
	}
	return min(retryAfter, max(longest, scheduled))
}

// ParseRetryAfter reads a Retry-After header (seconds or an HTTP date).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// delayError asks asynq to run the task again after Delay. Failure says
// whether it counts as a failed try (a failed HTTP attempt) or is a mere
// postponement (throttled, circuit open, not yet due).
type delayError struct {
	Delay   time.Duration
	Failure bool
	Reason  string
}

func (e *delayError) Error() string { return e.Reason }

// retryDelay is the server's RetryDelayFunc: the delay the handler chose,
// or an exponential backoff (capped at 5 minutes) for unexpected errors
// such as the database being down.
func retryDelay(n int, err error) time.Duration {
	var de *delayError
	if errors.As(err, &de) {
		return max(de.Delay, 0)
	}
	d := time.Second << min(n, 8)
	return Jitter(min(d, 5*time.Minute), rand.Float64())
}

// isFailure tells asynq which errors count against a task.
func isFailure(err error) bool {
	var de *delayError
	if errors.As(err, &de) {
		return de.Failure
	}
	return true
}
