package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// This file holds the pgx reads of endpoints: the worker's sending
// configuration (its hot path) and the columns of an endpoint joined into
// the traffic files' statements. Everything else about endpoints is in
// endpoints.go (gorm).

// endpointCols are the columns endpointDest scans, of an endpoints alias e.
const endpointCols = `e.id, e.tenant_id, e.app_id, e.uid, e.url, e.description, e.disabled, e.event_types, e.channels,
	e.throttle_rate, e.max_concurrency, e.metadata, e.headers, e.retry_schedule, e.revision, e.failing_since, e.created_at, e.updated_at, e.deleted_at`

// endpointDest returns the scan destinations of endpointCols into e.
func endpointDest(e *tenants.Endpoint) []any {
	return []any{&e.ID, &e.TenantID, &e.AppID, &e.UID, &e.URL, &e.Description, &e.Disabled, &e.EventTypes, &e.Channels,
		&e.ThrottleRate, &e.MaxConcurrency, &e.Metadata, &e.Headers, &e.RetrySchedule, &e.Revision, &e.FailingSince, &e.CreatedAt, &e.UpdatedAt, &e.DeletedAt}
}

// endpointConfigCols are the columns configRow scans: an endpoint's
// sending configuration, one row per endpoint, of an endpoints alias e
// joined with endpointConfigJoins.
const endpointConfigCols = `e.id, e.tenant_id, e.revision, e.url, e.headers, e.sealed_headers, e.throttle_rate,
	COALESCE(e.max_concurrency, 0), e.retry_schedule, ks.sealed, ks.expires_at,
	sec.mtls_sealed, sec.server_ca, sec.oauth_sealed,
	tr.code, COALESCE(tr.enabled, false), tr.sealed_variables, tr.updated_at`

// endpointConfigJoins joins an endpoints alias e with its live secrets
// (current first, then previous ones newest first; live at the time now,
// an SQL expression), security settings and transformation. gate, an SQL
// condition on the outer row ("true" for always), skips the lookups for
// rows that need no configuration: PostgreSQL evaluates it once per row
// before the secrets' scan.
func endpointConfigJoins(now, gate string) string {
	return `LEFT JOIN LATERAL (
			SELECT array_agg(k.sealed ORDER BY k.expires_at IS NOT NULL, k.id DESC) AS sealed, min(k.expires_at) AS expires_at
			FROM endpoint_secrets k
			WHERE ` + gate + ` AND k.endpoint_id = e.id AND (k.expires_at IS NULL OR k.expires_at > ` + now + `)
		) ks ON true
		LEFT JOIN endpoint_security sec ON ` + gate + ` AND sec.endpoint_id = e.id
		LEFT JOIN endpoint_transformations tr ON ` + gate + ` AND tr.tenant_id = e.tenant_id AND tr.endpoint_id = e.id`
}

// configRow is one scanned row of endpointConfigCols, still sealed. Its
// scalars are pointers so that a statement may return the columns NULL
// for rows without a configuration.
type configRow struct {
	id, tenantID, url       *string
	revision                *int64
	throttle                *int
	maxConcurrency          *int
	headers, sealedH, sched []byte
	sealed                  [][]byte
	expires                 *time.Time
	mtls, oauth, trSealed   []byte
	ca, trCode              *string
	trEnabled               *bool
	trUpdated               *time.Time
}

// dest returns the scan destinations of endpointConfigCols.
func (r *configRow) dest() []any {
	return []any{&r.id, &r.tenantID, &r.revision, &r.url, &r.headers, &r.sealedH, &r.throttle, &r.maxConcurrency, &r.sched,
		&r.sealed, &r.expires, &r.mtls, &r.ca, &r.oauth, &r.trCode, &r.trEnabled, &r.trSealed, &r.trUpdated}
}

// openConfig decrypts and decodes the row read at now into a configuration.
func (s *Store) openConfig(r *configRow, now time.Time) (tenants.EndpointConfig, error) {
	if r.id == nil || r.tenantID == nil || r.revision == nil || r.url == nil {
		return tenants.EndpointConfig{}, fmt.Errorf("endpoint configuration: %w", tenants.ErrNotFound)
	}
	id := *r.id
	c := tenants.EndpointConfig{ID: id, TenantID: *r.tenantID, Revision: *r.revision, URL: *r.url, ThrottleRate: r.throttle}
	if r.maxConcurrency != nil {
		c.MaxConcurrency = *r.maxConcurrency
	}
	c.SecretsValidUntil = now.Add(24 * time.Hour)
	if r.expires != nil && r.expires.Before(c.SecretsValidUntil) {
		c.SecretsValidUntil = *r.expires
	}
	for _, sealed := range r.sealed {
		plain, err := s.cipher.Open(sealed, []byte(id))
		if err != nil {
			return tenants.EndpointConfig{}, fmt.Errorf("secret of %s: %w", id, err)
		}
		c.Secrets = append(c.Secrets, string(plain))
	}
	var err error
	if len(r.headers) > 0 {
		if err := json.Unmarshal(r.headers, &c.Headers); err != nil {
			return tenants.EndpointConfig{}, fmt.Errorf("endpoint %s headers: %w", id, err)
		}
	}
	if c.Headers, err = s.openHeaders(id, r.sealedH, c.Headers); err != nil {
		return tenants.EndpointConfig{}, err
	}
	if c.Security, err = s.openEndpointSecurity(id, r.mtls, r.ca, r.oauth); err != nil {
		return tenants.EndpointConfig{}, err
	}
	if len(r.sched) > 0 && string(r.sched) != "null" {
		var ms []int64
		if err := json.Unmarshal(r.sched, &ms); err != nil {
			return tenants.EndpointConfig{}, fmt.Errorf("endpoint %s retry schedule: %w", id, err)
		}
		c.RetrySchedule = make([]time.Duration, len(ms))
		for i, v := range ms {
			c.RetrySchedule[i] = time.Duration(v) * time.Millisecond
		}
	}
	t, err := s.openTransformation(id, r.trCode, r.trEnabled != nil && *r.trEnabled, r.trSealed, r.trUpdated)
	if err != nil {
		return tenants.EndpointConfig{}, err
	}
	if t.Active() {
		c.Transformation = &t
	}
	return c, nil
}

var loadEndpointConfigSQL = `SELECT ` + endpointConfigCols + `
	FROM endpoints e ` + endpointConfigJoins("$3", "true") + `
	WHERE e.tenant_id = $1 AND e.id = $2`

// LoadEndpointConfig reads an endpoint's sending configuration and
// decrypts its live secrets, security settings and transformation
// variables, in one round trip. A missing endpoint is ErrNotFound.
func (s *Store) LoadEndpointConfig(ctx context.Context, tenantID, endpointID string) (tenants.EndpointConfig, error) {
	now := s.Now()
	var r configRow
	if err := s.pg.QueryRow(ctx, loadEndpointConfigSQL, tenantID, endpointID, now).Scan(r.dest()...); err != nil {
		return tenants.EndpointConfig{}, fmt.Errorf("load endpoint %s: %w", endpointID, translate(err))
	}
	return s.openConfig(&r, now)
}
