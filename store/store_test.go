package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestStore_InTxCoversBothLibraries: one transaction holds a gorm write (an
// application) and a pgx write (a message of it); rolled back, neither is
// there; committed, both are. Without the shared connection the pgx write
// would commit on its own (or fail: the application it refers to would
// not be visible to it).
func TestStore_InTxCoversBothLibraries(t *testing.T) {
	t.Parallel()
	db, _ := storetest.Open(t)
	st := store.New(db, storetest.TestCipher(t), nil)
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "tx")
	if err != nil {
		t.Fatal(err)
	}
	write := func(uid string, fail error) (msgID string, err error) {
		err = st.InTx(ctx, func(tx *store.Store) error {
			app, err := tx.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: uid, UID: &uid})
			if err != nil {
				return err
			}
			m, _, err := tx.CreateMessage(ctx, ten.ID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(`{}`)})
			if err != nil {
				return err
			}
			msgID = m.ID
			return fail
		})
		return msgID, err
	}
	boom := errors.New("roll back")
	msgID, err := write("gone", boom)
	if !errors.Is(err, boom) || msgID == "" {
		t.Fatalf("rolled-back transaction: %q, %v", msgID, err)
	}
	if _, err := st.FindApplication(ctx, ten.ID, "gone"); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("the gorm write survived the rollback: %v", err)
	}
	if pg, err := st.FindTenantMessages(ctx, ten.ID, tenants.TenantMessageFilter{Ref: msgID}); err != nil || len(pg.Items) != 0 {
		t.Errorf("the pgx write survived the rollback: %d messages, %v", len(pg.Items), err)
	}
	msgID, err = write("kept", nil)
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.FindApplication(ctx, ten.ID, "kept")
	if err != nil {
		t.Fatalf("the gorm write was not committed: %v", err)
	}
	if _, err := st.FindMessage(ctx, ten.ID, app.ID, msgID); err != nil {
		t.Errorf("the pgx write was not committed: %v", err)
	}
}
