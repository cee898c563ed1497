package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// lastQuery records the statements the store sends (gorm's too: they go
// through the same pool), so a test can EXPLAIN exactly what ran.
type lastQuery struct {
	mu   sync.Mutex
	on   atomic.Bool
	sql  string
	args []any
	// only, when set, records only the statements that start with it.
	only string
}

func (l *lastQuery) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if l.on.Load() && !strings.HasPrefix(d.SQL, "EXPLAIN") && strings.HasPrefix(d.SQL, l.only) {
		l.mu.Lock()
		l.sql, l.args = d.SQL, d.Args
		l.mu.Unlock()
	}
	return ctx
}

func (l *lastQuery) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// capture runs fn with recording on and returns the last statement it ran.
func (l *lastQuery) capture(t *testing.T, fn func() error) (string, []any) {
	t.Helper()
	l.on.Store(true)
	err := fn()
	l.on.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sql, l.args
}

type planNode struct {
	Relation string     `json:"Relation Name"`
	Loops    int        `json:"Actual Loops"`
	Plans    []planNode `json:"Plans"`
}

// touched EXPLAINs q (ANALYZE, inside a transaction rolled back, so
// statements that write leave nothing) and returns, per partitioned table,
// the partitions in the plan and those actually read (not "never
// executed"). generic forces the generic plan prepared statements end up
// with, whose pruning happens at execution.
func touched(t *testing.T, db *pgxpool.Pool, q string, args []any, generic bool) (inPlan, read map[string][]string) {
	t.Helper()
	ctx := context.Background()
	inPlan, read = map[string][]string{}, map[string][]string{}
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if generic {
			if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
				return err
			}
		}
		var out []byte
		if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+q, args...).Scan(&out); err != nil {
			return fmt.Errorf("explain %s: %w", q, err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal(out, &plans); err != nil {
			return err
		}
		var walk func(n planNode)
		walk = func(n planNode) {
			for _, table := range tenants.PartitionedTables {
				if strings.HasPrefix(n.Relation, table+"_") {
					inPlan[table] = append(inPlan[table], n.Relation)
					if n.Loops > 0 {
						read[table] = append(read[table], n.Relation)
					}
				}
			}
			for _, c := range n.Plans {
				walk(c)
			}
		}
		walk(plans[0].Plan)
		return errRollback
	})
	if err != nil && err != errRollback {
		t.Fatal(err)
	}
	return inPlan, read
}

var errRollback = fmt.Errorf("rollback")

// TestStore_QueriesPrunePartitions builds four daily slices holding a few
// hundred messages, deliveries and attempts each (plus the legacy and
// DEFAULT partitions), and EXPLAINs the hot path's and the API's queries
// as the store sends them: a get by id is planned on one partition, the
// worker's load of a delivery reads one partition of deliveries and one of
// messages, the attempt recorder's UPDATE one of deliveries, and the
// listings (newest first, a page of 50) read one or two partitions, not
// every slice in the retention window. Each query is checked with its
// parameters bound (a custom plan) and as the generic plan prepared
// statements switch to.
func TestStore_QueriesPrunePartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	var rec lastQuery
	db, err := store.Open(ctx, dsn, 4, slog.New(slog.DiscardHandler), store.WithQueryTracer(&rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	probe := store.New(db, nil, nil)
	cutover, err := probe.Cutover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Pointer[time.Time]
	setNow := func(t time.Time) { now.Store(&t) }
	setNow(cutover.Add(time.Hour))
	st := store.New(db, storetest.TestCipher(t), func() time.Time { return *now.Load() })
	raw := storetest.SQL(t, dsn)
	st.SetRetentionPolicy(tenants.RetentionPolicy{})
	// Slices from the cutover on, contiguous with the legacy partition.
	const day = 24 * time.Hour
	for i := range 6 {
		for _, table := range tenants.PartitionedTables {
			lo := cutover.Add(time.Duration(i) * day)
			if _, err := st.CreatePartition(ctx, table, lo, lo.Add(day), day); err != nil {
				t.Fatal(err)
			}
		}
	}
	ten, app, ep := tenantWithEndpoint(t, st)
	var (
		lastMsg      tenants.Message
		lastDelivery int64
		lastAttempt  tenants.Attempt
	)
	for d := range 4 {
		setNow(cutover.Add(time.Duration(d)*day + time.Hour))
		specs := make([]tenants.MessageSpec, 200)
		for i := range specs {
			specs[i] = tenants.MessageSpec{TenantID: ten.ID, AppID: app.ID, In: tenants.MessageInput{EventType: "e.t", Payload: []byte(`{}`)}}
		}
		made, err := st.CreateMessages(ctx, specs)
		if err != nil {
			t.Fatal(err)
		}
		var results []tenants.AttemptResult
		for i, m := range made {
			at := m.Message.CreatedAt.Add(time.Duration(i) * time.Millisecond)
			a := tenants.Attempt{ID: tenants.NewID(tenants.PrefixAttempt, at), TenantID: ten.ID, AppID: app.ID, MsgID: m.Message.ID,
				EndpointID: ep.ID, DeliveryID: m.Deliveries[0].ID, URL: ep.URL, Status: tenants.StatusSuccess, StatusCode: 200, CreatedAt: at}
			results = append(results, tenants.AttemptResult{Attempt: a, Status: tenants.StatusSuccess})
			lastMsg, lastDelivery, lastAttempt = m.Message, m.Deliveries[0].ID, a
		}
		if err := st.RecordAttempts(ctx, results); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(ctx, "ANALYZE messages; ANALYZE deliveries; ANALYZE attempts"); err != nil {
		t.Fatal(err)
	}
	setNow(cutover.Add(3*day + 2*time.Hour))

	type check struct {
		name string
		run  func() error
		// maxPlanned bounds the partitions of a table left in the plan
		// once pruned at planning or at the start of execution, which
		// PostgreSQL sets up on every call (0: not checked); maxRead
		// those read. Both are checked in either plan.
		table      string
		maxPlanned int
		maxRead    int
		// fresh, for a statement that writes, makes its arguments new
		// again (EXPLAIN ANALYZE runs it once more, rolled back).
		fresh func(args []any)
	}
	checks := []check{
		{"get message by id", func() error { _, err := st.FindMessage(ctx, ten.ID, app.ID, lastMsg.ID); return err }, "messages", 1, 1, nil},
		{"get attempt by id", func() error {
			_, err := st.FindAttempt(ctx, ten.ID, app.ID, lastMsg.ID, lastAttempt.ID)
			return err
		}, "attempts", 1, 1, nil},
		{"worker's load of a delivery (deliveries)", func() error { _, err := st.LoadDeliveryByID(ctx, lastDelivery); return err }, "deliveries", 1, 1, nil},
		{"worker's load of a delivery (its message)", func() error { _, err := st.LoadDeliveryByID(ctx, lastDelivery); return err }, "messages", 2, 1, nil},
		{"attempt recorder", func() error {
			a := lastAttempt
			a.ID = tenants.NewID(tenants.PrefixAttempt, *now.Load())
			return st.RecordAttempts(ctx, []tenants.AttemptResult{{Attempt: a, Status: tenants.StatusSuccess}})
		}, "deliveries", 2, 1, func(args []any) {
			args[0] = []string{tenants.NewID(tenants.PrefixAttempt, time.Now())}
		}},
		{"list messages", func() error {
			_, err := st.FindMessages(ctx, ten.ID, app.ID, tenants.MessageFilter{})
			return err
		}, "messages", 0, 2, nil},
		{"list attempts by endpoint", func() error {
			_, err := st.FindAttemptsByEndpoint(ctx, ten.ID, app.ID, ep.ID, tenants.AttemptFilter{})
			return err
		}, "attempts", 0, 2, nil},
		{"list attempts by message", func() error {
			_, err := st.FindAttemptsByMessage(ctx, ten.ID, app.ID, lastMsg.ID, tenants.AttemptFilter{})
			return err
		}, "attempts", 0, 2, nil},
		{"list a message's destinations", func() error {
			_, err := st.FindMessageDestinations(ctx, ten.ID, app.ID, lastMsg.ID, tenants.ListParams{})
			return err
		}, "deliveries", 0, 3, nil},
	}
	for _, c := range checks {
		q, args := rec.capture(t, c.run)
		if c.fresh != nil {
			c.fresh(args)
		}
		for _, generic := range []bool{false, true} {
			inPlan, read := touched(t, raw, q, args, generic)
			mode := "custom plan"
			if generic {
				mode = "generic plan"
			}
			if c.maxPlanned > 0 && len(inPlan[c.table]) > c.maxPlanned {
				t.Errorf("%s (%s): %d partitions of %s planned %v, want at most %d\n%s", c.name, mode, len(inPlan[c.table]), c.table, inPlan[c.table], c.maxPlanned, q)
			}
			if n := len(read[c.table]); n == 0 || n > c.maxRead {
				t.Errorf("%s (%s): %d partitions of %s read %v, want 1 to %d (planned: %v)\n%s", c.name, mode, n, c.table, read[c.table], c.maxRead, inPlan[c.table], q)
			}
		}
	}
}
