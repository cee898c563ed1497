package store_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
)

// TestStore_TryLease_Rows checks the lease used through a transaction
// pooler (WithPgBouncer; here on a direct connection, which behaves the
// same): one holder at a time, renewals keep it, a holder that stops
// renewing is taken over once RowLeaseTTL has passed, and Release frees it.
func TestStore_TryLease_Rows(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, 4, slog.New(slog.DiscardHandler), store.WithPgBouncer())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.TxPooled() {
		t.Fatal("WithPgBouncer did not mark the DB as behind a transaction pooler")
	}
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	a := store.New(db, nil, clock)
	b := store.New(db, nil, clock)

	la, err := a.TryLease(ctx, "sweeper")
	if err != nil || la == nil {
		t.Fatalf("first TryLease: %v, %v", la, err)
	}
	if lb, err := b.TryLease(ctx, "sweeper"); err != nil || lb != nil {
		t.Fatalf("second TryLease while held: %v, %v; want nil, nil", lb, err)
	}
	if other, err := b.TryLease(ctx, "other"); err != nil || other == nil {
		t.Fatalf("a lease of another name: %v, %v", other, err)
	}
	// Renewed within the TTL, it stays a's.
	advance(store.RowLeaseTTL - time.Second)
	if !la.Alive(ctx) {
		t.Fatal("renewal failed")
	}
	advance(store.RowLeaseTTL - time.Second)
	if lb, _ := b.TryLease(ctx, "sweeper"); lb != nil {
		t.Fatal("taken over although renewed")
	}
	// a stops renewing: b takes over after the TTL, and a learns it lost.
	advance(store.RowLeaseTTL + time.Second)
	lb, err := b.TryLease(ctx, "sweeper")
	if err != nil || lb == nil {
		t.Fatalf("takeover after expiry: %v, %v", lb, err)
	}
	if la.Alive(ctx) {
		t.Error("the old holder still thinks it holds the lease")
	}
	la.Release() // must not free b's lease
	if lc, _ := a.TryLease(ctx, "sweeper"); lc != nil {
		t.Fatal("the old holder's Release freed the new holder's lease")
	}
	lb.Release()
	if lc, err := a.TryLease(ctx, "sweeper"); err != nil || lc == nil {
		t.Fatalf("TryLease after Release: %v, %v", lc, err)
	}
}
