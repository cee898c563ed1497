package store_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
)

// TestInTx_CancelledMidStatement: a context that ends while a transaction's
// pgx statement runs fails that statement and rolls back, without
// database/sql closing the connection under pgx's feet (run with -race:
// database/sql's own rollback on a cancelled BeginTx context raced the
// running statement). The pool serves the next statement.
func TestInTx_CancelledMidStatement(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	db, err := store.Open(context.Background(), dsn, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	st := store.New(db, nil, nil)
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(50 * time.Millisecond)
			cancel()
		}()
		err := st.ExecInTx(ctx, "SELECT pg_sleep(0.3)")
		cancel()
		if err == nil {
			t.Fatal("a statement whose context ended mid-way succeeded")
		}
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatalf("the pool after cancelled transactions: %v", err)
	}
}
