package billing

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeUsage is a tenant's usage as the quota cache's loader and counter
// see it, counting how often each is called.
type fakeUsage struct {
	mu     sync.Mutex
	acct   Account
	usage  map[time.Time]int64 // by month start
	loads  atomic.Int64
	counts atomic.Int64
}

func (f *fakeUsage) set(month time.Time, n int64) {
	f.mu.Lock()
	f.usage[month] = n
	f.mu.Unlock()
}

func (f *fakeUsage) load(_ context.Context, _ string, month time.Time) (Account, int64, error) {
	f.loads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acct, f.usage[month], nil
}

func (f *fakeUsage) count(_ context.Context, _ string, month, _ time.Time) (int64, error) {
	f.counts.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.usage[month], nil
}

// quotaService is a Service reduced to what CheckSend uses, on a fake
// clock.
func quotaService(f *fakeUsage, clock *time.Time, floor int64) *Service {
	s := &Service{opts: Options{Grace: 7 * 24 * time.Hour}}
	s.now = func() time.Time { return *clock }
	s.quota = newQuotaCache(30*time.Second, floor, f.load, f.count)
	return s
}

func TestCheckSend_FarFromCapCostsNoQuery(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	month, _ := MonthBounds(now)
	f := &fakeUsage{acct: Account{Plan: Plan{ID: "free", MonthlyCap: ptr[int64](100000)}}, usage: map[time.Time]int64{month: 10}}
	s := quotaService(f, &now, 1000)
	for range 1000 {
		if err := s.CheckSend(context.Background(), "org_1"); err != nil {
			t.Fatal(err)
		}
	}
	if f.loads.Load() != 1 || f.counts.Load() != 0 {
		t.Errorf("1000 checks far from the cap made %d loads and %d counts, want 1 and 0", f.loads.Load(), f.counts.Load())
	}
	// Past the TTL, one reload.
	now = now.Add(31 * time.Second)
	if err := s.CheckSend(context.Background(), "org_1"); err != nil {
		t.Fatal(err)
	}
	if f.loads.Load() != 2 {
		t.Errorf("loads after the TTL = %d, want 2", f.loads.Load())
	}
}

func TestCheckSend_NearCapCountsLiveAndRefusesAtCap(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	month, _ := MonthBounds(now)
	f := &fakeUsage{acct: Account{Plan: Plan{ID: "free", MonthlyCap: ptr[int64](3)}}, usage: map[time.Time]int64{month: 0}}
	s := quotaService(f, &now, 1000)
	ctx := context.Background()
	// The cached snapshot says 0 for the whole TTL; deliveries succeed
	// meanwhile. Each check must see them.
	for n := int64(0); n < 3; n++ {
		f.set(month, n)
		if err := s.CheckSend(ctx, "org_1"); err != nil {
			t.Fatalf("usage %d of 3: %v", n, err)
		}
	}
	f.set(month, 3)
	err := s.CheckSend(ctx, "org_1")
	if !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("usage 3 of 3: err = %v, want ErrQuotaExceeded", err)
	}
	// Once at the cap, the refusal is cached: no more counts this month.
	counts := f.counts.Load()
	for range 100 {
		if !errors.Is(s.CheckSend(ctx, "org_1"), ErrQuotaExceeded) {
			t.Fatal("a check after the cap was reached passed")
		}
	}
	if f.counts.Load() != counts {
		t.Errorf("checks over the cap made %d more counts, want 0", f.counts.Load()-counts)
	}
	// A new month starts from zero, whatever the cache held.
	now = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CheckSend(ctx, "org_1"); err != nil {
		t.Errorf("first check of the next month: %v", err)
	}
}

func TestCheckSend_GrowthWidensTheLiveBand(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	month, _ := MonthBounds(now)
	f := &fakeUsage{acct: Account{Plan: Plan{ID: "ent", CustomCap: true}, CustomCap: ptr[int64](1_000_000)}, usage: map[time.Time]int64{month: 100_000}}
	s := quotaService(f, &now, 1000)
	ctx := context.Background()
	if err := s.CheckSend(ctx, "org_1"); err != nil {
		t.Fatal(err)
	}
	// 400,000 deliveries in one TTL: the next snapshot sees 500,000, half a
	// cap from the limit; twice that growth reaches past the cap, so the
	// checks now count live.
	f.set(month, 500_000)
	now = now.Add(31 * time.Second)
	before := f.counts.Load()
	if err := s.CheckSend(ctx, "org_1"); err != nil {
		t.Fatal(err)
	}
	if f.counts.Load() == before {
		t.Error("a tenant growing fast enough to cross the cap within a TTL was not counted live")
	}
}

func TestCheckSend_PaymentRequiredAfterGrace(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	month, _ := MonthBounds(now)
	f := &fakeUsage{acct: Account{Plan: Plan{ID: "pro", Paid: true}, PastDueSince: ptr(now.Add(-6 * 24 * time.Hour))},
		usage: map[time.Time]int64{month: 0}}
	s := quotaService(f, &now, 1000)
	if err := s.CheckSend(context.Background(), "org_1"); err != nil {
		t.Fatalf("within grace: %v", err)
	}
	now = now.Add(24 * time.Hour)
	if err := s.CheckSend(context.Background(), "org_1"); !errors.Is(err, ErrPaymentRequired) {
		t.Fatalf("beyond grace: err = %v, want ErrPaymentRequired", err)
	}
}
