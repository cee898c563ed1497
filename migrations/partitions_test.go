package migrations_test

import (
	"context"
	"database/sql"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/hookline/hookline/migrations"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// fill0011 writes rows of every kind into a database at migration 0011, as
// the previous schema's code wrote them: tenants, applications and
// endpoints, messages (with payloads, tags, channels, eventIds, some
// expunged, some scheduled), deliveries of every status and trigger,
// attempts, idempotency keys of both kinds, and billing's usage.
const fill0011 = `
INSERT INTO tenants (id, name) VALUES ('org_a', 'A'), ('org_b', 'B');
INSERT INTO applications (id, tenant_id, name) VALUES ('app_a', 'org_a', 'a'), ('app_b', 'org_b', 'b');
INSERT INTO endpoints (id, tenant_id, app_id, url) VALUES
	('ep_a1', 'org_a', 'app_a', 'http://127.0.0.1:9/1'), ('ep_a2', 'org_a', 'app_a', 'http://127.0.0.1:9/2'),
	('ep_b1', 'org_b', 'app_b', 'http://127.0.0.1:9/3');
-- 3,000 messages over the 30 days before now, ids minted as NewID does.
INSERT INTO messages (id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at, deliver_at)
SELECT hookline_test_id('msg_', t, g), CASE WHEN g % 3 = 0 THEN 'org_b' ELSE 'org_a' END, CASE WHEN g % 3 = 0 THEN 'app_b' ELSE 'app_a' END,
	CASE WHEN g % 7 = 0 THEN 'evt_' || g END, 'order.' || (g % 5),
	CASE WHEN g % 11 = 0 THEN NULL ELSE convert_to('{"n":' || g || ',"pad":"' || repeat('x', g % 300) || '"}', 'UTF8') END,
	CASE WHEN g % 4 = 0 THEN '["c1"]'::jsonb END, CASE WHEN g % 6 = 0 THEN '["t1","t2"]'::jsonb END,
	t, t + interval '90 days', CASE WHEN g % 13 = 0 THEN t + interval '1 hour' END
FROM (SELECT g, now() - interval '30 days' + g * interval '860 seconds' AS t FROM generate_series(1, 3000) g) s;
-- Deliveries: one scheduled per message and endpoint of its app, every
-- status; a manual resend for every tenth.
INSERT INTO deliveries (tenant_id, app_id, msg_id, endpoint_id, trigger, status, attempts, next_attempt_at, created_at, updated_at, succeeded_at)
SELECT m.tenant_id, m.app_id, m.id, e.id, 0, s.st, 1 + (h % 3),
	CASE WHEN s.st = 1 THEN m.created_at + interval '1 hour' END, m.created_at, m.created_at + interval '1 minute',
	CASE WHEN s.st = 0 THEN m.created_at + interval '2 seconds' END
FROM messages m JOIN endpoints e ON e.app_id = m.app_id,
	LATERAL (SELECT abs(hashtext(m.id || e.id)) AS h) x,
	LATERAL (SELECT (ARRAY[0, 0, 0, 1, 2, 4])[1 + h % 6]::smallint AS st) s
ORDER BY m.id, e.id;
INSERT INTO deliveries (tenant_id, app_id, msg_id, endpoint_id, trigger, status, attempts, created_at, updated_at, succeeded_at)
SELECT tenant_id, app_id, msg_id, endpoint_id, 1, 0, 1, created_at + interval '1 day', created_at + interval '1 day', created_at + interval '1 day'
FROM deliveries WHERE id % 10 = 0;
INSERT INTO attempts (id, tenant_id, app_id, msg_id, endpoint_id, delivery_id, url, status, status_code, response, error, duration_ms, trigger, request_headers, created_at)
SELECT hookline_test_id('atmpt_', d.created_at + interval '1 second', d.id::int), d.tenant_id, d.app_id, d.msg_id, d.endpoint_id, d.id,
	'http://127.0.0.1:9/', CASE WHEN d.status = 0 THEN 0 ELSE 2 END, CASE WHEN d.status = 0 THEN 200 ELSE 500 END,
	CASE WHEN d.id % 5 = 0 THEN NULL ELSE 'body ' || d.id END, '', 10 + d.id % 90, d.trigger, '{"x-a":"1"}', d.created_at + interval '1 second'
FROM deliveries d WHERE d.attempts > 0;
INSERT INTO idempotency_keys (key, locked_until, status_code, headers, body, expires_at, tenant_id, fingerprint, msg_id)
SELECT sha256(convert_to('k' || g, 'UTF8')), NULL, CASE WHEN g % 2 = 0 THEN 202 ELSE 200 END, '{}', 'b', now() + interval '12 hours',
	'org_a', sha256(convert_to('f' || g, 'UTF8')), CASE WHEN g % 2 = 0 THEN (SELECT id FROM messages ORDER BY id LIMIT 1) END
FROM generate_series(1, 200) g;
INSERT INTO billing_rollup_state (counted_through, updated_at) VALUES (date_trunc('hour', now()) - interval '1 hour', now());
INSERT INTO usage_hourly (tenant_id, hour, deliveries, final, computed_at)
SELECT tenant_id, date_trunc('hour', succeeded_at, 'UTC'), count(*), true, now() FROM deliveries
WHERE trigger = 0 AND status = 0 AND succeeded_at < date_trunc('hour', now()) - interval '1 hour' GROUP BY 1, 2;
`

// testIDSQL mints ids as tenants.NewID does (KSUID-ms of t), the random
// part derived from n so the fill is deterministic.
const testIDSQL = `
CREATE FUNCTION hookline_test_id(prefix text, t timestamptz, n int) RETURNS text LANGUAGE sql AS $$
	SELECT prefix || substr(hookline_ksuid_floor_0011(t), 1, 14) || lpad(to_hex(n), 13, '0')
$$;`

// ksuidSQL is a copy of migration 0012's hookline_ksuid_floor, so the
// fill (at 0011) mints realistic ids.
const ksuidSQL = `
CREATE FUNCTION hookline_ksuid_floor_0011(t timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	alphabet constant text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
	secs bigint := floor(extract(epoch FROM t))::bigint - 1400000000;
	ms int := (floor(extract(milliseconds FROM t))::int % 1000) / 4;
	p numeric := 1; n numeric; out text := '';
BEGIN
	FOR i IN 1..120 LOOP p := p * 2; END LOOP;
	n := (secs::numeric * 256 + ms) * p;
	FOR i IN 1..27 LOOP out := substr(alphabet, mod(n, 62)::int + 1, 1) || out; n := div(n, 62); END LOOP;
	RETURN out;
END $$;`

// tables whose every row is compared before and after, by their key.
var compared = map[string]string{
	"messages": "id", "deliveries": "id", "attempts": "id", "idempotency_keys": "key",
	"usage_hourly": "tenant_id, hour", "endpoints": "id",
}

func snapshot(t *testing.T, db *sql.DB) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for table, key := range compared {
		var n, sum string
		// Every row, as text, in key order: a digest compares them all.
		err := db.QueryRow(`SELECT count(*)::text, COALESCE(md5(string_agg(r::text, E'\n' ORDER BY `+key+`)), '')
			FROM (SELECT `+key+`, (SELECT row_to_json(x)::text FROM (SELECT t.*) x) AS r FROM `+table+` t) s`).Scan(&n, &sum)
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		out[table] = [2]string{n, sum}
	}
	// tenants gains a column (retention_days, NULL): compare the others.
	var n, sum string
	if err := db.QueryRow(`SELECT count(*)::text, md5(string_agg(concat_ws('|', id, name, status, created_at, updated_at, tokens_valid_after), E'\n' ORDER BY id)) FROM tenants`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	out["tenants"] = [2]string{n, sum}
	return out
}

// TestMigration0012_KeepsEveryRow fills a database at 0011 with rows of
// every kind, migrates it to partitioned tables and compares every row of
// every table (count and a digest of all rows), then checks that the old
// tables became the first partitions with their own indexes (adopted, not
// rebuilt), and that the store still reads and writes through them.
func TestMigration0012_KeepsEveryRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewEmptyDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrations.UpTo(ctx, db, 11); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{ksuidSQL, testIDSQL, fill0011} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	before := snapshot(t, db)
	if before["deliveries"][0] == "0" || before["attempts"][0] == "0" {
		t.Fatalf("fill made no rows: %v", before)
	}
	indexesBefore := indexCounts(t, db, "messages", "deliveries", "attempts")

	if err := migrations.UpTo(ctx, db, 12); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, db)
	for table, b := range before {
		if a := after[table]; a != b {
			t.Errorf("%s: %s rows (digest %s) before, %s (%s) after", table, b[0], b[1], a[0], a[1])
		}
	}
	for _, table := range []string{"messages", "deliveries", "attempts"} {
		var kind string
		var inLegacy int
		if err := db.QueryRow(`SELECT relkind::text FROM pg_class WHERE relname = $1`, table).Scan(&kind); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM ` + table + `_legacy`).Scan(&inLegacy); err != nil {
			t.Fatal(err)
		}
		if kind != "p" || before[table][0] != strconv.Itoa(inLegacy) {
			t.Errorf("%s: relkind %s with %d rows in %s_legacy; want a partitioned table whose legacy partition has all %s",
				table, kind, inLegacy, table, before[table][0])
		}
		// The old indexes were adopted as the partitions of the new ones:
		// none was built again.
		if got := indexCounts(t, db, table+"_legacy")[table+"_legacy"]; got != indexesBefore[table] {
			t.Errorf("%s_legacy has %d indexes, the table had %d: an index was rebuilt or lost", table, got, indexesBefore[table])
		}
	}

	// Later migrations (which may add columns) go on top, then the store
	// works across the legacy partitions: an old pending
	// delivery loads, the sweeper finds it, a new message goes in with a
	// time-based delivery id above every old one.
	if _, err := migrations.Up(ctx, db, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	tdb, err := store.Open(ctx, dsn, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tdb.Close()
	st := store.New(tdb, storetest.TestCipher(t), nil)
	var oldPending, maxOld int64
	if err := db.QueryRow(`SELECT min(id) FILTER (WHERE status = 1), max(id) FROM deliveries`).Scan(&oldPending, &maxOld); err != nil {
		t.Fatal(err)
	}
	job, err := st.LoadDeliveryByID(ctx, oldPending)
	if err != nil || job.Status != tenants.StatusPending || job.Payload == nil && job.MsgID == "" {
		t.Fatalf("old pending delivery %d: %+v, %v", oldPending, job, err)
	}
	due, err := st.PendingDeliveries(ctx, 0, 10)
	if err != nil || len(due) == 0 || due[0].ID != oldPending {
		t.Fatalf("sweeper's pending deliveries: %v, %v; want %d first", due, err, oldPending)
	}
	m, ids, err := st.CreateMessage(ctx, "org_a", "app_a", tenants.MessageInput{EventType: "order.new", Payload: []byte(`{}`)})
	if err != nil || len(ids) != 2 {
		t.Fatalf("new message: %v (%d deliveries)", err, len(ids))
	}
	for _, id := range ids {
		if id <= maxOld || !tenants.DeliveryIDTime(id).Equal(m.CreatedAt.Truncate(time.Second)) {
			t.Errorf("new delivery id %d: want above %d and carrying %s, carries %s", id, maxOld, m.CreatedAt, tenants.DeliveryIDTime(id))
		}
	}
	if _, err := st.FindMessage(ctx, "org_a", "app_a", "evt_7"); err != nil {
		t.Errorf("old message by eventId: %v", err)
	}
	// The SQL bound function agrees with the Go one.
	for range 200 {
		at := time.Unix(1_600_000_000+rand.Int64N(600_000_000), rand.Int64N(1e9)).UTC()
		var got string
		if err := db.QueryRow(`SELECT hookline_ksuid_floor('msg_', $1)`, at).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := tenants.IDBound(tenants.PrefixMessage, at, false); got != want {
			t.Fatalf("hookline_ksuid_floor(%s) = %s, IDBound = %s", at, got, want)
		}
	}
}

func indexCounts(t *testing.T, db *sql.DB, tables ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range tables {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}
