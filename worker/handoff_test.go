package worker

import (
	"testing"
	"time"

	"github.com/hookline/hookline/tenants"
)

func TestHandoff_BoundedAndTakenOnce(t *testing.T) {
	h := newHandoff(100)
	now := time.Now()
	h.now = func() time.Time { return now }
	job := func(id int64, size int) tenants.DeliveryJob {
		return tenants.DeliveryJob{ID: id, Payload: make([]byte, size)}
	}
	h.put(job(1, 40))
	h.put(job(2, 40))
	if j, ok := h.take(1); !ok || j.ID != 1 {
		t.Fatalf("take(1) = %v, %v", j.ID, ok)
	}
	if _, ok := h.take(1); ok {
		t.Fatal("a job was handed over twice")
	}
	// Over budget: the oldest go first.
	h.put(job(3, 40))
	h.put(job(4, 40))
	if _, ok := h.take(2); ok {
		t.Error("the oldest job survived an over-budget put")
	}
	for _, id := range []int64{3, 4} {
		if _, ok := h.take(id); !ok {
			t.Errorf("job %d was evicted although it fits", id)
		}
	}
	if h.bytes != 0 || len(h.jobs) != 0 {
		t.Errorf("after taking everything: %d bytes, %d jobs held", h.bytes, len(h.jobs))
	}
	// Old entries expire.
	h.maxAge = time.Millisecond
	h.put(job(5, 1))
	now = now.Add(5 * time.Millisecond)
	h.put(job(6, 1))
	if _, ok := h.take(5); ok {
		t.Error("an expired job was handed over")
	}
	var nilHandoff *handoff
	nilHandoff.put(job(7, 1))
	if _, ok := nilHandoff.take(7); ok {
		t.Error("a nil handoff held a job")
	}
}
