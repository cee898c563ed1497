package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Destinations (polling endpoints, FIFO endpoints, RabbitMQ) are edited
// rarely and read by the sender on every batch, so this file speaks pgx
// throughout: their positions are xid8, which gorm has no type for. Every
// xid8 crosses the wire as text (::text, ::text::xid8).

// destCols are the columns scanDestination reads, of a destinations alias d.
const destCols = `d.id, d.tenant_id, d.app_id, d.uid, d.type, d.config, d.event_types, d.channels, d.batch_size, d.max_wait_secs,
	d.disabled, d.failure_reason, d.metadata, d.start_tx::text, d.cursor_tx::text, d.cursor_id,
	d.batch_id, d.batch_first_id, d.batch_last_tx::text, d.batch_last_id, d.batch_count, d.batch_tries, d.next_attempt_at,
	d.created_at, d.updated_at`

// destConfig is the readable part of a destination's configuration.
type destConfig struct {
	URL        string `json:"url,omitempty"`
	RoutingKey string `json:"routingKey,omitempty"`
}

func parseTx(s *string) uint64 {
	if s == nil {
		return 0
	}
	n, _ := strconv.ParseUint(*s, 10, 64)
	return n
}

func txText(n uint64) string { return strconv.FormatUint(n, 10) }

func scanDestination(r scanner) (tenants.Destination, error) {
	var (
		d                                tenants.Destination
		cfg, types, channels, md         []byte
		start                            string
		cursorTx, cursorID               *string
		batchID, batchFirst, batchLastTx *string
		batchLastID                      *string
		batchCount                       *int
		batchTries                       int
	)
	err := r.Scan(&d.ID, &d.TenantID, &d.AppID, &d.UID, &d.Type, &cfg, &types, &channels, &d.BatchSize, &d.MaxWaitSecs,
		&d.Disabled, &d.FailureReason, &md, &start, &cursorTx, &cursorID,
		&batchID, &batchFirst, &batchLastTx, &batchLastID, &batchCount, &batchTries, &d.NextAttemptAt,
		&d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return d, err
	}
	var c destConfig
	_ = json.Unmarshal(cfg, &c)
	d.URL, d.RoutingKey = c.URL, c.RoutingKey
	if types != nil {
		_ = json.Unmarshal(types, &d.EventTypes)
	}
	if channels != nil {
		_ = json.Unmarshal(channels, &d.Channels)
	}
	_ = json.Unmarshal(md, &d.Metadata)
	d.Start = tenants.Position{Tx: parseTx(&start)}
	if cursorTx != nil {
		d.Cursor = tenants.Position{Tx: parseTx(cursorTx), ID: deref(cursorID)}
	}
	if batchID != nil {
		d.Batch = &tenants.DestinationBatch{ID: *batchID, FirstID: deref(batchFirst),
			Last: tenants.Position{Tx: parseTx(batchLastTx), ID: deref(batchLastID)}, Tries: batchTries}
		if batchCount != nil {
			d.Batch.Count = *batchCount
		}
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func destKey(d *tenants.Destination) string { return d.ID }

// jsonOrNull is the jsonb of a filter list: NULL for none.
func jsonOrNull(v []string) []byte {
	v = tenants.NormList(v)
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// destWhere scopes a query to the live destinations of one application and
// to ref, an id or a uid.
func destWhere(tenantID, appID, ref string) *where {
	w := &where{}
	w.and("d.tenant_id = %s AND d.app_id = %s AND d.deleted_at IS NULL", tenantID, appID)
	if tenants.IsShortID(tenants.PrefixDestination, ref) {
		w.and("d.id = %s", ref)
	} else {
		w.and("d.uid = %s", ref)
	}
	return w
}

// FindDestination returns the live destination of application appID whose
// id or uid is ref, or ErrNotFound (also for another tenant's).
func (s *Store) FindDestination(ctx context.Context, tenantID, appID, ref string) (tenants.Destination, error) {
	w := destWhere(tenantID, appID, ref)
	d, err := scanDestination(s.pg.QueryRow(ctx, "SELECT "+destCols+" FROM destinations d WHERE "+w.sql(), w.args...))
	if err != nil {
		return d, fmt.Errorf("find destination %s: %w", ref, translate(err))
	}
	return d, nil
}

// FindDestinations returns a page of an application's destinations.
func (s *Store) FindDestinations(ctx context.Context, tenantID, appID string, p tenants.ListParams) (tenants.Page[tenants.Destination], error) {
	w := &where{}
	w.and("d.tenant_id = %s AND d.app_id = %s AND d.deleted_at IS NULL", tenantID, appID)
	pg, err := pageRows(ctx, s.pg, destCols, "destinations d", w, "d.id", p, scanDestination, destKey)
	if err != nil {
		return pg, fmt.Errorf("find destinations: %w", err)
	}
	return pg, nil
}

// CreateDestination stores a new destination of application appID with its
// signing secret (supplied or generated), its headers and RabbitMQ URI
// sealed. It reads from the current snapshot horizon on: every message
// committed after it returns is the destination's.
func (s *Store) CreateDestination(ctx context.Context, tenantID, appID string, in tenants.DestinationInput) (tenants.Destination, error) {
	secret := tenants.NewEndpointSecret()
	if in.Secret != nil {
		var err error
		if secret, err = tenants.NormalizeEndpointSecret(*in.Secret); err != nil {
			return tenants.Destination{}, tenants.InvalidAt([]string{"body", "config", "key"}, err.Error())
		}
	}
	if err := tenants.ValidateHeaders(in.Headers); err != nil {
		return tenants.Destination{}, err
	}
	if err := s.checkEventTypes(ctx, tenantID, in.EventTypes); err != nil {
		return tenants.Destination{}, err
	}
	if s.cipher == nil {
		return tenants.Destination{}, fmt.Errorf("store has no cipher for destination secrets")
	}
	now := s.Now()
	id := tenants.NewShortID(tenants.PrefixDestination, now)
	cfg, _ := json.Marshal(destConfig{URL: in.URL, RoutingKey: in.RoutingKey})
	var uri, headers []byte
	if in.URI != "" {
		uri = s.cipher.Seal([]byte(in.URI), destAD("uri", id))
	}
	if len(in.Headers) > 0 {
		hb, _ := json.Marshal(in.Headers)
		headers = s.cipher.Seal(hb, destAD("headers", id))
	}
	md, _ := json.Marshal(tenants.OrEmpty(in.Metadata))
	_, err := s.pg.Exec(ctx, `INSERT INTO destinations (id, tenant_id, app_id, uid, type, config, sealed_uri, sealed_secret, sealed_headers,
			event_types, channels, batch_size, max_wait_secs, disabled, metadata, start_tx, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, pg_snapshot_xmin(pg_current_snapshot()), $16, $16)`,
		id, tenantID, appID, in.UID, in.Type, cfg, uri, s.cipher.Seal([]byte(secret), destAD("secret", id)), headers,
		jsonOrNull(in.EventTypes), jsonOrNull(in.Channels), in.BatchSize, in.MaxWait, in.Disabled, md, now)
	if err != nil {
		return tenants.Destination{}, fmt.Errorf("create destination: %w", translate(err))
	}
	return s.FindDestination(ctx, tenantID, appID, id)
}

// destAD is the associated data a destination's sealed values are bound
// to: what the value is and whose, so a sealed value copied to another
// column or row does not open.
func destAD(what, id string) []byte { return []byte("destination:" + what + ":" + id) }

// UpsertDestination replaces destination ref (PUT), keeping its secret,
// headers and position, or creates it with ref as its uid when nothing
// matches (as Svix does). A type cannot change.
func (s *Store) UpsertDestination(ctx context.Context, tenantID, appID, ref string, in tenants.DestinationInput) (tenants.Destination, bool, error) {
	cur, err := s.FindDestination(ctx, tenantID, appID, ref)
	if errors.Is(err, tenants.ErrNotFound) {
		if !tenants.IsShortID(tenants.PrefixDestination, ref) && in.UID == nil {
			in.UID = &ref
		}
		d, err := s.CreateDestination(ctx, tenantID, appID, in)
		return d, err == nil, err
	}
	if err != nil {
		return cur, false, err
	}
	if cur.Type != in.Type {
		return cur, false, tenants.Invalid("type", "a destination's type cannot change; create a new destination")
	}
	p := tenants.DestinationPatch{
		UID: tenants.Optional[string]{Set: true, Null: in.UID == nil}, URL: &in.URL, RoutingKey: &in.RoutingKey,
		EventTypes: tenants.Optional[[]string]{Set: true, Null: in.EventTypes == nil, Value: in.EventTypes},
		Channels:   tenants.Optional[[]string]{Set: true, Null: in.Channels == nil, Value: in.Channels},
		BatchSize:  &in.BatchSize, MaxWait: &in.MaxWait, Disabled: &in.Disabled, Metadata: &in.Metadata,
	}
	if in.UID != nil {
		p.UID.Value = *in.UID
	}
	if in.URI != "" {
		p.URI = &in.URI
	}
	d, err := s.PatchDestination(ctx, tenantID, appID, cur.ID, p)
	return d, false, err
}

// PatchDestination changes the fields p sets. Enabling a destination that
// was disabled clears its failure and lets a waiting batch go at once.
func (s *Store) PatchDestination(ctx context.Context, tenantID, appID, ref string, p tenants.DestinationPatch) (tenants.Destination, error) {
	cur, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return cur, err
	}
	if p.EventTypes.Set && !p.EventTypes.Null {
		if err := s.checkEventTypes(ctx, tenantID, p.EventTypes.Value); err != nil {
			return cur, err
		}
	}
	set := &where{}
	set.and("updated_at = %s", s.Now())
	if p.UID.Set {
		if p.UID.Null {
			set.and("uid = NULL")
		} else {
			set.and("uid = %s", p.UID.Value)
		}
	}
	if p.URL != nil || p.RoutingKey != nil {
		c := destConfig{URL: cur.URL, RoutingKey: cur.RoutingKey}
		if p.URL != nil {
			c.URL = *p.URL
		}
		if p.RoutingKey != nil {
			c.RoutingKey = *p.RoutingKey
		}
		b, _ := json.Marshal(c)
		set.and("config = %s", b)
	}
	if p.URI != nil {
		set.and("sealed_uri = %s", s.cipher.Seal([]byte(*p.URI), destAD("uri", cur.ID)))
	}
	if p.EventTypes.Set {
		set.and("event_types = %s", jsonOrNull(p.EventTypes.Value))
	}
	if p.Channels.Set {
		set.and("channels = %s", jsonOrNull(p.Channels.Value))
	}
	if p.BatchSize != nil {
		set.and("batch_size = %s", *p.BatchSize)
	}
	if p.MaxWait != nil {
		set.and("max_wait_secs = %s", *p.MaxWait)
	}
	if p.Disabled != nil {
		set.and("disabled = %s", *p.Disabled)
		if !*p.Disabled && cur.Disabled {
			set.and("failure_reason = NULL")
			set.and("next_attempt_at = NULL")
		}
	}
	if p.Metadata != nil {
		md, _ := json.Marshal(tenants.OrEmpty(*p.Metadata))
		set.and("metadata = %s", md)
	}
	n := len(set.args)
	sets := joinConds(set.conds, ", ")
	_, err = s.pg.Exec(ctx, "UPDATE destinations SET "+sets+" WHERE id = $"+strconv.Itoa(n+1)+" AND tenant_id = $"+strconv.Itoa(n+2),
		append(set.args, cur.ID, tenantID)...)
	if err != nil {
		return cur, fmt.Errorf("patch destination %s: %w", cur.ID, translate(err))
	}
	return s.FindDestination(ctx, tenantID, appID, cur.ID)
}

func joinConds(c []string, sep string) string {
	out := ""
	for i, s := range c {
		if i > 0 {
			out += sep
		}
		out += s
	}
	return out
}

// DeleteDestination deletes destination ref; its uid is free again, and
// its attempts and consumers go with it.
func (s *Store) DeleteDestination(ctx context.Context, tenantID, appID, ref string) error {
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return err
	}
	if _, err := s.pg.Exec(ctx, `DELETE FROM destinations WHERE id = $1 AND tenant_id = $2`, d.ID, tenantID); err != nil {
		return fmt.Errorf("delete destination %s: %w", d.ID, translate(err))
	}
	return nil
}

// DestinationSecret returns the current signing secret of destination ref.
func (s *Store) DestinationSecret(ctx context.Context, tenantID, appID, ref string) (string, error) {
	secrets, err := s.destinationSecrets(ctx, tenantID, appID, ref)
	if err != nil {
		return "", err
	}
	return secrets[0], nil
}

// destinationSecrets returns the secrets that sign for destination ref:
// the current one, then the previous one while its grace lasts.
func (s *Store) destinationSecrets(ctx context.Context, tenantID, appID, ref string) ([]string, error) {
	w := destWhere(tenantID, appID, ref)
	var (
		id         string
		cur, prev  []byte
		prevExpiry *time.Time
	)
	err := s.pg.QueryRow(ctx, "SELECT d.id, d.sealed_secret, d.sealed_prev_secret, d.prev_expires_at FROM destinations d WHERE "+w.sql(), w.args...).
		Scan(&id, &cur, &prev, &prevExpiry)
	if err != nil {
		return nil, fmt.Errorf("find destination %s: %w", ref, translate(err))
	}
	plain, err := s.cipher.Open(cur, destAD("secret", id))
	if err != nil {
		return nil, fmt.Errorf("secret of %s: %w", id, err)
	}
	out := []string{string(plain)}
	if prev != nil && prevExpiry != nil && prevExpiry.After(s.Now()) {
		if p, err := s.cipher.Open(prev, destAD("secret", id)); err == nil {
			out = append(out, string(p))
		}
	}
	return out, nil
}

// RotateDestinationSecret makes secret (or a generated one, when empty) the
// destination's current secret; the previous one keeps signing for grace.
func (s *Store) RotateDestinationSecret(ctx context.Context, tenantID, appID, ref, secret string, grace time.Duration) error {
	if secret == "" {
		secret = tenants.NewEndpointSecret()
	} else {
		var err error
		if secret, err = tenants.NormalizeEndpointSecret(secret); err != nil {
			return tenants.Invalid("key", err.Error())
		}
	}
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return err
	}
	_, err = s.pg.Exec(ctx, `UPDATE destinations SET sealed_prev_secret = sealed_secret, prev_expires_at = $1,
		sealed_secret = $2, updated_at = $3 WHERE id = $4 AND tenant_id = $5`,
		s.Now().Add(grace), s.cipher.Seal([]byte(secret), destAD("secret", d.ID)), s.Now(), d.ID, tenantID)
	if err != nil {
		return fmt.Errorf("rotate secret of %s: %w", d.ID, translate(err))
	}
	return nil
}

// DestinationHeaders returns the custom headers of destination ref.
func (s *Store) DestinationHeaders(ctx context.Context, tenantID, appID, ref string) (map[string]string, error) {
	w := destWhere(tenantID, appID, ref)
	var (
		id     string
		sealed []byte
	)
	if err := s.pg.QueryRow(ctx, "SELECT d.id, d.sealed_headers FROM destinations d WHERE "+w.sql(), w.args...).Scan(&id, &sealed); err != nil {
		return nil, fmt.Errorf("find destination %s: %w", ref, translate(err))
	}
	return s.openDestHeaders(id, sealed)
}

func (s *Store) openDestHeaders(id string, sealed []byte) (map[string]string, error) {
	h := map[string]string{}
	if sealed == nil {
		return h, nil
	}
	plain, err := s.cipher.Open(sealed, destAD("headers", id))
	if err != nil {
		return nil, fmt.Errorf("headers of %s: %w", id, err)
	}
	if err := json.Unmarshal(plain, &h); err != nil {
		return nil, fmt.Errorf("headers of %s: %w", id, err)
	}
	return h, nil
}

// SetDestinationHeaders changes destination ref's custom headers: a nil
// value deletes a header. Headers are sealed at rest, all of them.
func (s *Store) SetDestinationHeaders(ctx context.Context, tenantID, appID, ref string, h map[string]*string) (map[string]string, error) {
	var out map[string]string
	err := s.InTx(ctx, func(tx *Store) error {
		w := destWhere(tenantID, appID, ref)
		var (
			id     string
			sealed []byte
		)
		if err := tx.pg.QueryRow(ctx, "SELECT d.id, d.sealed_headers FROM destinations d WHERE "+w.sql()+" FOR UPDATE", w.args...).Scan(&id, &sealed); err != nil {
			return fmt.Errorf("find destination %s: %w", ref, translate(err))
		}
		cur, err := tx.openDestHeaders(id, sealed)
		if err != nil {
			return err
		}
		for k, v := range h {
			if v == nil {
				delete(cur, k)
			} else {
				cur[k] = *v
			}
		}
		if err := tenants.ValidateHeaders(cur); err != nil {
			return err
		}
		var next []byte
		if len(cur) > 0 {
			b, _ := json.Marshal(cur)
			next = tx.cipher.Seal(b, destAD("headers", id))
		}
		if _, err := tx.pg.Exec(ctx, `UPDATE destinations SET sealed_headers = $1, updated_at = $2 WHERE id = $3`, next, tx.Now(), id); err != nil {
			return fmt.Errorf("set headers of %s: %w", id, translate(err))
		}
		out = cur
		return nil
	})
	return out, err
}

// SkipDestinationBatch moves a FIFO or RabbitMQ destination past its batch
// in flight (or, with to set, to that position), so the messages after it
// go next; a retrying destination stops retrying.
func (s *Store) SkipDestinationBatch(ctx context.Context, tenantID, appID, ref string, to *tenants.Position) error {
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return err
	}
	if d.Type == tenants.DestinationPolling {
		return tenants.BadRequest("not_pushing", "a polling endpoint has no batch to skip; its consumers seek instead")
	}
	target := d.From()
	switch {
	case to != nil:
		target = *to
	case d.Batch != nil:
		target = d.Batch.Last
	default:
		return tenants.Conflict("nothing_to_skip", "the destination has no batch in flight")
	}
	_, err = s.pg.Exec(ctx, `UPDATE destinations SET cursor_tx = $1::text::xid8, cursor_id = $2, batch_id = NULL, batch_first_id = NULL,
			batch_last_tx = NULL, batch_last_id = NULL, batch_count = NULL, batch_tries = 0, next_attempt_at = NULL, updated_at = $3
		WHERE id = $4 AND tenant_id = $5`, txText(target.Tx), target.ID, s.Now(), d.ID, tenantID)
	if err != nil {
		return fmt.Errorf("skip batch of %s: %w", d.ID, translate(err))
	}
	return nil
}

// ForceRetryDestination makes a waiting batch due now, and enables a
// destination its retries disabled.
func (s *Store) ForceRetryDestination(ctx context.Context, tenantID, appID, ref string) error {
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return err
	}
	if d.Type == tenants.DestinationPolling {
		return tenants.BadRequest("not_pushing", "a polling endpoint is read by its consumers; there is nothing to retry")
	}
	_, err = s.pg.Exec(ctx, `UPDATE destinations SET next_attempt_at = NULL, disabled = false, failure_reason = NULL, updated_at = $1
		WHERE id = $2 AND tenant_id = $3`, s.Now(), d.ID, tenantID)
	if err != nil {
		return fmt.Errorf("force retry of %s: %w", d.ID, translate(err))
	}
	return nil
}

const destAttemptCols = `a.id, a.tenant_id, a.destination_id, a.batch_id, a.first_msg_id, a.last_msg_id, a.num_events, a.status,
	a.status_code, a.response, a.duration_ms, a.created_at`

func scanDestAttempt(r scanner) (tenants.DestinationAttempt, error) {
	var (
		a           tenants.DestinationAttempt
		first, last *string
		st          int16
	)
	err := r.Scan(&a.ID, &a.TenantID, &a.DestinationID, &a.BatchID, &first, &last, &a.NumEvents, &st,
		&a.StatusCode, &a.Response, &a.DurationMs, &a.CreatedAt)
	a.FirstMsgID, a.LastMsgID, a.Status, a.CreatedAt = deref(first), deref(last), tenants.Status(st), a.CreatedAt.UTC()
	return a, err
}

// FindDestinationAttempts returns a page of destination ref's attempts,
// newest first unless the params say otherwise.
func (s *Store) FindDestinationAttempts(ctx context.Context, tenantID, appID, ref string, f tenants.DestinationAttemptFilter) (tenants.Page[tenants.DestinationAttempt], error) {
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.Page[tenants.DestinationAttempt]{}, err
	}
	w := &where{}
	w.and("a.destination_id = %s AND a.tenant_id = %s", d.ID, tenantID)
	if f.Status != nil {
		w.and("a.status = %s", int16(*f.Status))
	}
	if !f.Before.IsZero() {
		w.and("a.created_at < %s", f.Before)
	}
	if !f.After.IsZero() {
		w.and("a.created_at >= %s", f.After)
	}
	pg, err := pageRows(ctx, s.pg, destAttemptCols, "destination_attempts a", w, "a.id", f.ListParams, scanDestAttempt,
		func(a *tenants.DestinationAttempt) string { return a.ID })
	if err != nil {
		return pg, fmt.Errorf("find destination attempts: %w", err)
	}
	return pg, nil
}

// FindDestinationAttempt returns one attempt of destination ref, or
// ErrNotFound.
func (s *Store) FindDestinationAttempt(ctx context.Context, tenantID, appID, ref, attemptID string) (tenants.DestinationAttempt, error) {
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.DestinationAttempt{}, err
	}
	a, err := scanDestAttempt(s.pg.QueryRow(ctx, "SELECT "+destAttemptCols+` FROM destination_attempts a
		WHERE a.destination_id = $1 AND a.tenant_id = $2 AND a.id = $3`, d.ID, tenantID, attemptID))
	if err != nil {
		return a, fmt.Errorf("find destination attempt %s: %w", attemptID, translate(err))
	}
	return a, nil
}
