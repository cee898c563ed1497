package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// messageCols are the columns scanMessage reads, of a messages alias m.
const messageCols = "m.id, m.tenant_id, m.app_id, m.event_id, m.event_type, m.payload, m.channels, m.tags, m.created_at, m.expires_at, m.deliver_at"

func scanMessage(r scanner) (tenants.Message, error) {
	var m tenants.Message
	err := r.Scan(&m.ID, &m.TenantID, &m.AppID, &m.EventID, &m.EventType, &m.Payload, &m.Channels, &m.Tags,
		&m.CreatedAt, &m.ExpiresAt, &m.DeliverAt)
	return m, err
}

func messageKey(m *tenants.Message) string { return m.ID }

// window applies created-time bounds to an id column: ids are
// time-sortable, so a time bound is an id bound and the primary key index
// serves both.
func window(w *where, f tenants.MessageFilter, col, prefix string) {
	if !f.Before.IsZero() {
		w.and(col+" < %s", tenants.IDBound(prefix, f.Before, false))
	}
	if !f.After.IsZero() {
		w.and(col+" > %s", tenants.IDBound(prefix, f.After, true))
	}
}

// messageConds applies channel, event-type and tag filters on a messages
// alias.
func messageConds(w *where, f tenants.MessageFilter, alias string) {
	if f.Channel != "" {
		w.and("jsonb_exists("+alias+".channels, %s)", f.Channel)
	}
	if len(f.EventTypes) > 0 {
		w.and(alias+".event_type = ANY(%s)", f.EventTypes)
	}
	if f.Tag != "" {
		// Containment (not jsonb_exists) so that the GIN index with
		// jsonb_path_ops (messages_tags) applies.
		w.and(alias+".tags @> %s::jsonb", jsonArg([]string{f.Tag}))
	}
}

// createMessagesSQL stores a batch of messages, their idempotency claims
// and their deliveries in one statement — one round trip, one commit. The
// messages arrive as arrays, so the statement's text (and its prepared
// plan) does not depend on the batch size. A message's application is
// taken as the caller resolved it, or resolved here from its id or uid
// (resolveAppSQL: an application new to the API costs no read of its
// own), and then a message whose application is not live is left out.
// A message whose key is held by a live claim is left out too: `claim`
// returns only the keys it inserted or took over from an expired claim,
// and `accepted` keeps the messages with no key or a key of their own.
// Concurrent writers of the same key serialise on its unique index; the
// later one sees the earlier commit and skips. Each message fans out to
// its application's endpoints by the one fan-out rule (or, for
// send-example, to its one endpoint). The endpoints are looked up message
// by message through the partial index endpoints_app, in a fenced lateral
// join (OFFSET 0), so that the plan does not hang on statistics: with
// `deleted_at IS NULL` inside the CASE only, the index could not serve, and
// a generic plan made while endpoints' statistics were stale (10,000 just
// created) read every endpoint of every tenant for each batch, until the
// next ANALYZE.
//
// Rows: a delivery (its id set), or one row per message in: its
// resolved application (NULL: none) and whether it was accepted.
var createMessagesSQL = sqlConst(`
WITH raw AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::jsonb[],
		$8::jsonb[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::bytea[], $13::bytea[], $14::timestamptz[],
		$16::timestamptz[], $17::smallint[])
		AS i(id, tenant_id, app_ref, event_id, event_type, payload, channels, tags, created_at, expires_at,
			only_endpoint, idem_key, idem_fp, idem_expires, deliver_at, app_kind)
), input AS (
	SELECT r.id, r.tenant_id, ap.id AS app_id, r.event_id, r.event_type, r.payload, r.channels, r.tags, r.created_at,
		r.expires_at, r.only_endpoint, r.idem_key, r.idem_fp, r.idem_expires, r.deliver_at
	FROM raw r JOIN LATERAL (` + resolveAppSQL("r") + `) ap ON true
), claim AS (
	INSERT INTO idempotency_keys (key, tenant_id, fingerprint, msg_id, status_code, expires_at)
	SELECT idem_key, tenant_id, idem_fp, id, 202, idem_expires FROM input WHERE idem_key IS NOT NULL
	ON CONFLICT (key) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, fingerprint = EXCLUDED.fingerprint,
		msg_id = EXCLUDED.msg_id, status_code = EXCLUDED.status_code, expires_at = EXCLUDED.expires_at,
		locked_until = NULL, headers = NULL, body = NULL
	WHERE idempotency_keys.expires_at < $15
	RETURNING key
), accepted AS (
	SELECT * FROM input WHERE idem_key IS NULL OR idem_key IN (SELECT key FROM claim)
), msg AS (
	INSERT INTO messages (id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at, deliver_at)
	SELECT id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at, deliver_at FROM accepted
	RETURNING id
), targets AS (
	SELECT a.id AS msg_id, a.created_at, COALESCE(a.deliver_at, a.created_at) AS due, e.id, e.tenant_id, e.app_id, e.revision, e.failing_since,
		COALESCE(e.max_concurrency, 0) AS lane_cap
	FROM accepted a JOIN LATERAL (
		SELECT e.* FROM endpoints e
		WHERE e.app_id = a.app_id AND e.tenant_id = a.tenant_id AND e.deleted_at IS NULL
			AND CASE WHEN a.only_endpoint IS NOT NULL THEN e.id = a.only_endpoint
				ELSE ` + fanoutRule("e", "a.event_type", "a.channels") + ` END
		OFFSET 0
	) e ON true
), ins AS (
	INSERT INTO deliveries (id, tenant_id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
	SELECT ` + deliveryIDSQL("t.created_at") + `, t.tenant_id, t.app_id, t.msg_id, t.id, {pending}, t.due, t.created_at, t.created_at
	FROM targets t ORDER BY t.msg_id, t.id
	RETURNING id, msg_id, endpoint_id
)
SELECT ins.id, ins.msg_id, ins.endpoint_id, t.revision, t.failing_since, t.lane_cap, NULL::text, NULL::bool
FROM ins JOIN targets t ON t.msg_id = ins.msg_id AND t.id = ins.endpoint_id
UNION ALL
SELECT NULL, r.id, NULL, NULL, NULL, NULL, i.app_id, a.id IS NOT NULL
FROM raw r LEFT JOIN input i ON i.id = r.id LEFT JOIN accepted a ON a.id = r.id`)

// How a row's app_ref names its application (resolveAppSQL).
const (
	// appKnown: app_ref is the id of an application the caller resolved
	// (the API's cache, operational webhooks' system application): taken
	// as is, as before refs were resolved here.
	appKnown int16 = iota
	// appByID and appByUID: a live, non-system application of the tenant
	// with that id or uid.
	appByID
	appByUID
)

// resolveAppSQL selects the id of the application the row alias r names
// by r.app_ref and r.app_kind, in r.tenant_id: a subquery for a lateral
// join, each branch gated by the kind and by its own index.
func resolveAppSQL(r string) string {
	return `SELECT ` + r + `.app_ref AS id WHERE ` + r + `.app_kind = 0
		UNION ALL
		SELECT ap.id FROM applications ap WHERE ` + r + `.app_kind = 1 AND ap.id = ` + r + `.app_ref
			AND ap.tenant_id = ` + r + `.tenant_id AND ap.deleted_at IS NULL AND NOT ap.system
		UNION ALL
		SELECT ap.id FROM applications ap WHERE ` + r + `.app_kind = 2 AND ap.tenant_id = ` + r + `.tenant_id
			AND ap.uid = ` + r + `.app_ref AND ap.deleted_at IS NULL AND NOT ap.system`
}

// appConfigsSQL reads the sending configuration of every live endpoint of
// the applications named by ($1 tenant, $2 ref, $3 how the ref names it), live
// secrets at $4: sent with createMessagesSQL for the messages that ask for
// their endpoints' configuration, in the same round trip.
//
// Every join is lateral, and the endpoints' fenced (OFFSET 0) so that it
// is not pulled up: each lookup is by index whatever the number of
// endpoints (a generic plan would otherwise scan them all).
var appConfigsSQL = `SELECT c.* FROM unnest($1::text[], $2::text[], $3::smallint[]) AS r(tenant_id, app_ref, app_kind)
	JOIN LATERAL (` + resolveAppSQL("r") + `) ap ON true
	JOIN LATERAL (
		SELECT ` + endpointConfigCols + `
		FROM endpoints e ` + endpointConfigJoins("$4", "true") + `
		WHERE e.app_id = ap.id AND e.deleted_at IS NULL AND e.tenant_id = r.tenant_id
		OFFSET 0
	) c ON true`

// messageArgs are createMessagesSQL's columns, one slice per column: the
// statement reads them with unnest.
type messageArgs struct {
	ids, tenantIDs, appRefs, types []string
	appKinds                       []int16
	eventIDs, channels, tags       []*string
	only                           []*string
	payloads, idemKeys, idemFPs    [][]byte
	created, expires               []time.Time
	idemExpires, deliverAt         []*time.Time
}

func newMessageArgs(n int) *messageArgs {
	return &messageArgs{
		ids: make([]string, n), tenantIDs: make([]string, n), appRefs: make([]string, n), types: make([]string, n),
		appKinds: make([]int16, n),
		eventIDs: make([]*string, n), channels: make([]*string, n), tags: make([]*string, n), only: make([]*string, n),
		payloads: make([][]byte, n), idemKeys: make([][]byte, n), idemFPs: make([][]byte, n),
		created: make([]time.Time, n), expires: make([]time.Time, n),
		idemExpires: make([]*time.Time, n), deliverAt: make([]*time.Time, n),
	}
}

// set fills row i with message m of spec sp.
func (a *messageArgs) set(i int, m tenants.Message, sp tenants.MessageSpec, now time.Time) {
	a.ids[i], a.tenantIDs[i], a.types[i] = m.ID, m.TenantID, m.EventType
	if sp.AppID != "" {
		a.appRefs[i], a.appKinds[i] = sp.AppID, appKnown
	} else {
		a.appRefs[i], a.appKinds[i] = sp.AppRef, appByUID
		if tenants.IsID(tenants.PrefixApplication, sp.AppRef) {
			a.appKinds[i] = appByID
		}
	}
	a.eventIDs[i], a.payloads[i], a.created[i], a.expires[i] = m.EventID, m.Payload, m.CreatedAt, m.ExpiresAt
	a.deliverAt[i] = m.DeliverAt
	if m.Channels != nil {
		c := jsonArg(m.Channels)
		a.channels[i] = &c
	}
	if m.Tags != nil {
		t := jsonArg(m.Tags)
		a.tags[i] = &t
	}
	if sp.In.OnlyEndpoint != "" {
		a.only[i] = &sp.In.OnlyEndpoint
	}
	if c := sp.Claim; c != nil {
		a.idemKeys[i], a.idemFPs[i] = c.Key, c.Fingerprint
		exp := now.Add(c.TTL)
		a.idemExpires[i] = &exp
	}
}

// CreateMessages stores a batch of messages, their idempotency claims and
// their deliveries in one statement: all or nothing. Any error (a
// duplicate eventId among them, a database failure) fails the whole
// batch; callers that need to know which message was at fault retry them
// one by one. Specs sharing an idempotency key in one batch are the
// caller's to avoid (the statement keeps one and marks the others
// Duplicate). Results are in the order of specs.
func (s *Store) CreateMessages(ctx context.Context, specs []tenants.MessageSpec) ([]tenants.CreatedMessage, error) {
	n := len(specs)
	if n == 0 {
		return nil, nil
	}
	now := s.Now()
	args := newMessageArgs(n)
	out := make([]tenants.CreatedMessage, n)
	byID := make(map[string]int, n)
	for i, sp := range specs {
		in := sp.In
		if in.Retention <= 0 {
			in.Retention = tenants.DefaultRetention
		}
		// Ids minted in one go sort in batch order (same instant, random
		// tail): order by position is kept through byID below instead.
		m := tenants.Message{
			ID: tenants.NewID(tenants.PrefixMessage, now), TenantID: sp.TenantID, AppID: sp.AppID, EventID: in.EventID,
			EventType: in.EventType, Payload: in.Payload, Channels: tenants.NormList(in.Channels), Tags: tenants.NormList(in.Tags),
			CreatedAt: now, ExpiresAt: now.Add(in.Retention), DeliverAt: in.DeliverAt,
		}
		out[i].Message = m
		byID[m.ID] = i
		args.set(i, m, sp, now)
	}
	params := []any{args.ids, args.tenantIDs, args.appRefs, args.eventIDs, args.types,
		args.payloads, args.channels, args.tags, args.created, args.expires, args.only, args.idemKeys, args.idemFPs,
		args.idemExpires, now, args.deliverAt, args.appKinds}
	cfgTenants, cfgRefs, cfgKinds := args.configRefs(specs)
	if len(cfgRefs) == 0 {
		rows, err := s.hotPath().Query(ctx, createMessagesSQL, params...)
		if err == nil {
			err = scanCreated(rows, out, byID)
		}
		if err != nil {
			return nil, fmt.Errorf("create %d messages: %w", n, translate(err))
		}
		return finishCreated(out, specs, nil), nil
	}
	// The configurations come in the same round trip (and the same
	// implicit transaction), after the messages are stored.
	b := &pgx.Batch{}
	b.Queue(createMessagesSQL, params...)
	b.Queue(appConfigsSQL, cfgTenants, cfgRefs, cfgKinds, now)
	br := s.hotPath().SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err == nil {
		err = scanCreated(rows, out, byID)
	}
	if err != nil {
		return nil, fmt.Errorf("create %d messages: %w", n, translate(err))
	}
	configs, err := s.scanConfigs(br, now)
	if err == nil {
		err = br.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("create %d messages: endpoint configurations: %w", n, translate(err))
	}
	return finishCreated(out, specs, configs), nil
}

// configRefs returns the applications (tenant, ref, kind) of the specs
// that ask for their endpoints' configuration, for appConfigsSQL.
func (a *messageArgs) configRefs(specs []tenants.MessageSpec) (tenantIDs, refs []string, kinds []int16) {
	for i, sp := range specs {
		if sp.WithConfig {
			tenantIDs, refs, kinds = append(tenantIDs, sp.TenantID), append(refs, a.appRefs[i]), append(kinds, a.appKinds[i])
		}
	}
	return tenantIDs, refs, kinds
}

// scanCreated reads createMessagesSQL's rows into out (indexed by message
// id through byID): each message's application, whether it was accepted,
// and its deliveries.
func scanCreated(rows pgx.Rows, out []tenants.CreatedMessage, byID map[string]int) error {
	var (
		did      *int64
		msgID    *string
		epID     *string
		rev      *int64
		failing  *time.Time
		laneCap  *int32
		appID    *string
		accepted *bool
	)
	_, err := pgx.ForEachRow(rows, []any{&did, &msgID, &epID, &rev, &failing, &laneCap, &appID, &accepted}, func() error {
		i := byID[*msgID]
		if did == nil {
			switch {
			case appID == nil:
				out[i].Missing = true
			case !*accepted:
				out[i].Duplicate = true
			}
			if appID != nil {
				out[i].Message.AppID = *appID
			}
			return nil
		}
		d := tenants.NewDelivery{ID: *did, EndpointID: *epID, EndpointRevision: *rev, FailingSince: failing}
		if laneCap != nil {
			d.LaneCap = int(*laneCap)
		}
		out[i].Deliveries = append(out[i].Deliveries, d)
		return nil
	})
	return err
}

// scanConfigs reads appConfigsSQL's answer, the batch's second, by
// endpoint id.
func (s *Store) scanConfigs(br pgx.BatchResults, now time.Time) (map[string]*tenants.EndpointConfig, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	configs := map[string]*tenants.EndpointConfig{}
	var cfg configRow
	_, err = pgx.ForEachRow(rows, cfg.dest(), func() error {
		c, err := s.openConfig(&cfg, now)
		if err != nil {
			return err
		}
		configs[c.ID] = &c
		return nil
	})
	return configs, err
}

// finishCreated clears what a Missing or Duplicate spec would otherwise
// show (all but its application) and gives the deliveries of specs that
// asked for it their endpoint's configuration.
func finishCreated(out []tenants.CreatedMessage, specs []tenants.MessageSpec, configs map[string]*tenants.EndpointConfig) []tenants.CreatedMessage {
	for i := range out {
		if out[i].Missing || out[i].Duplicate {
			out[i] = tenants.CreatedMessage{Missing: out[i].Missing, Duplicate: out[i].Duplicate,
				Message: tenants.Message{AppID: out[i].Message.AppID}}
			continue
		}
		if !specs[i].WithConfig || configs == nil {
			continue
		}
		for k := range out[i].Deliveries {
			out[i].Deliveries[k].Config = configs[out[i].Deliveries[k].EndpointID]
		}
	}
	return out
}

// FindMessage returns the message of application appID whose id or eventId
// is ref, or ErrNotFound (also for a message past its tenant's retention).
// Its payload is nil once expunged or past its expiry. An eventId names
// the newest message carrying it: eventIds are unique per application
// within a partition (a day by default), not across partitions.
func (s *Store) FindMessage(ctx context.Context, tenantID, appID, ref string) (tenants.Message, error) {
	var w where
	w.and("m.tenant_id = %s AND m.app_id = %s", tenantID, appID)
	floor := s.retentionFloor(ctx, tenantID)
	if tenants.IsID(tenants.PrefixMessage, ref) {
		// The id alone prunes the scan to one partition.
		w.and("m.id = %s", ref)
	} else {
		w.and("m.event_id = %s", ref)
		if !floor.IsZero() {
			w.and("m.id > %s", tenants.IDBound(tenants.PrefixMessage, floor, true))
		}
	}
	m, err := scanMessage(s.pg.QueryRow(ctx, "SELECT "+messageCols+" FROM messages m WHERE "+w.sql()+" ORDER BY m.id DESC LIMIT 1", w.args...))
	if err != nil {
		return tenants.Message{}, fmt.Errorf("find message %s: %w", ref, translate(err))
	}
	if !floor.IsZero() && !m.CreatedAt.After(floor) {
		return tenants.Message{}, fmt.Errorf("find message %s: past retention: %w", ref, tenants.ErrNotFound)
	}
	m.HidePayloadPast(s.Now())
	return m, nil
}

// FindMessages returns a page of an application's messages, newest first.
func (s *Store) FindMessages(ctx context.Context, tenantID, appID string, f tenants.MessageFilter) (tenants.Page[tenants.Message], error) {
	s.clampAfter(ctx, tenantID, &f)
	var w where
	w.and("m.tenant_id = %s AND m.app_id = %s", tenantID, appID)
	window(&w, f, "m.id", tenants.PrefixMessage)
	messageConds(&w, f, "m")
	f.Desc = true
	pg, err := pageRows(ctx, s.pg, messageCols, "messages m", &w, "m.id", f.ListParams, scanMessage, messageKey)
	if err != nil {
		return pg, fmt.Errorf("find messages: %w", err)
	}
	s.hidePayloads(pg.Items)
	return pg, nil
}

// FindTenantMessages returns a page of a tenant's messages, newest first,
// across its applications.
func (s *Store) FindTenantMessages(ctx context.Context, tenantID string, f tenants.TenantMessageFilter) (tenants.Page[tenants.Message], error) {
	s.clampAfter(ctx, tenantID, &f.MessageFilter)
	var w where
	w.and("m.tenant_id = %s", tenantID)
	if f.AppID != "" {
		w.and("m.app_id = %s", f.AppID)
	}
	if f.Ref != "" {
		if tenants.IsID(tenants.PrefixMessage, f.Ref) {
			w.and("m.id = %s", f.Ref)
		} else {
			w.and("m.event_id = %s", f.Ref)
		}
	}
	if f.Status != nil {
		w.and(`EXISTS (SELECT 1 FROM deliveries d WHERE d.tenant_id = m.tenant_id AND d.msg_id = m.id
			AND d.status = %s AND NOT EXISTS (SELECT 1 FROM deliveries d2
				WHERE d2.endpoint_id = d.endpoint_id AND d2.msg_id = d.msg_id AND d2.id > d.id))`, *f.Status)
	}
	window(&w, f.MessageFilter, "m.id", tenants.PrefixMessage)
	messageConds(&w, f.MessageFilter, "m")
	f.Desc = true
	pg, err := pageRows(ctx, s.pg, messageCols, "messages m", &w, "m.id", f.ListParams, scanMessage, messageKey)
	if err != nil {
		return pg, fmt.Errorf("find tenant messages: %w", err)
	}
	s.hidePayloads(pg.Items)
	return pg, nil
}

// FindMessagesByID returns the messages of application appID among ids,
// keyed by id; ids that name no such message are absent from the map. It
// serves attempt listings that embed their messages (with_msg), so ids is
// at most a page long.
func (s *Store) FindMessagesByID(ctx context.Context, tenantID, appID string, ids []string) (map[string]tenants.Message, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	rows, err := s.pg.Query(ctx, "SELECT "+messageCols+" FROM messages m WHERE m.tenant_id = $1 AND m.app_id = $2 AND m.id = ANY($3)",
		tenantID, appID, ids)
	if err != nil {
		return nil, fmt.Errorf("find messages by id: %w", translate(err))
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenants.Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("find messages by id: %w", translate(err))
	}
	out := make(map[string]tenants.Message, len(ms))
	floor, now := s.retentionFloor(ctx, tenantID), s.Now()
	for _, m := range ms {
		if !floor.IsZero() && !m.CreatedAt.After(floor) {
			continue
		}
		m.HidePayloadPast(now)
		out[m.ID] = m
	}
	return out, nil
}

func (s *Store) hidePayloads(ms []tenants.Message) {
	now := s.Now()
	for i := range ms {
		ms[i].HidePayloadPast(now)
	}
}

// ExpungeMessageContent drops a message's payload for good.
func (s *Store) ExpungeMessageContent(ctx context.Context, tenantID, appID, ref string) error {
	m, err := s.FindMessage(ctx, tenantID, appID, ref)
	if err != nil {
		return err
	}
	if _, err := s.pg.Exec(ctx, `UPDATE messages SET payload = NULL WHERE tenant_id = $1 AND id = $2`, tenantID, m.ID); err != nil {
		return fmt.Errorf("expunge message %s: %w", m.ID, translate(err))
	}
	return nil
}

// ExpungeAllContents drops the payload of every message of an application
// and returns how many it dropped. The worker cancels deliveries still
// pending for them, as for any expunged message.
func (s *Store) ExpungeAllContents(ctx context.Context, tenantID, appID string) (int64, error) {
	tag, err := s.pg.Exec(ctx, `UPDATE messages SET payload = NULL
		WHERE app_id = $2 AND tenant_id = $1 AND payload IS NOT NULL`, tenantID, appID)
	if err != nil {
		return 0, fmt.Errorf("expunge contents of %s: %w", appID, translate(err))
	}
	return tag.RowsAffected(), nil
}

// ExpirePayloads drops the payloads of messages past their retention, at
// most limit at a time, and returns how many it dropped.
func (s *Store) ExpirePayloads(ctx context.Context, limit int) (int64, error) {
	tag, err := s.pg.Exec(ctx, `UPDATE messages SET payload = NULL WHERE id IN (
		SELECT id FROM messages WHERE payload IS NOT NULL AND expires_at < $1 LIMIT $2)`, s.Now(), limit)
	if err != nil {
		return 0, fmt.Errorf("expire payloads: %w", translate(err))
	}
	return tag.RowsAffected(), nil
}

// HasActiveEndpoint reports whether a message of eventType on channels
// would reach any endpoint of the application, by the fan-out rule of
// CreateMessages.
func (s *Store) HasActiveEndpoint(ctx context.Context, tenantID, appID, eventType string, channels []string) (bool, error) {
	var ch *string
	if len(channels) > 0 {
		v := jsonArg(channels)
		ch = &v
	}
	var ok bool
	err := s.pg.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM endpoints e
		WHERE e.app_id = $2 AND e.tenant_id = $1 AND `+fanoutRule("e", "$3::text", "$4::jsonb")+`)`,
		tenantID, appID, eventType, ch).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("precheck %s: %w", appID, translate(err))
	}
	return ok, nil
}

// FindIdempotentMessage returns the live claim of key, or ErrNotFound when
// there is none (it expired, or was never made). A claim made by another
// kind of request (one that stored its response instead of a message) is
// ErrConflict.
func (s *Store) FindIdempotentMessage(ctx context.Context, key []byte) (tenants.IdempotentMessage, error) {
	var (
		c     tenants.IdempotentMessage
		tid   *string
		msgID *string
	)
	err := s.pg.QueryRow(ctx, `SELECT tenant_id, fingerprint, msg_id FROM idempotency_keys WHERE key = $1 AND expires_at >= $2`,
		key, s.Now()).Scan(&tid, &c.Fingerprint, &msgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("find idempotency key: %w", tenants.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("find idempotency key: %w", translate(err))
	}
	if msgID == nil {
		return c, fmt.Errorf("idempotency key held by another request: %w", tenants.ErrConflict)
	}
	c.MsgID = *msgID
	if tid != nil {
		c.TenantID = *tid
	}
	return c, nil
}

// CreateMessage stores one message and its deliveries (CreateMessages for
// a batch of one, without an idempotency claim) and returns the new
// delivery ids. A duplicate eventId is ErrConflict. The API creates
// messages through package outbox; this is for commands and tests that
// write one directly.
func (s *Store) CreateMessage(ctx context.Context, tenantID, appID string, in tenants.MessageInput) (tenants.Message, []int64, error) {
	res, err := s.CreateMessages(ctx, []tenants.MessageSpec{{TenantID: tenantID, AppID: appID, In: in}})
	if err != nil {
		return tenants.Message{}, nil, err
	}
	ids := make([]int64, len(res[0].Deliveries))
	for i, d := range res[0].Deliveries {
		ids[i] = d.ID
	}
	return res[0].Message, ids, nil
}
