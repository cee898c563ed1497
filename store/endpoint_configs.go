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

// LoadEndpointConfig reads an endpoint's sending configuration and
// decrypts its live secrets, security settings and transformation
// variables, in one round trip: a row per live secret (current first), or
// one row without a secret, each carrying the security and transformation
// rows joined in.
func (s *Store) LoadEndpointConfig(ctx context.Context, tenantID, endpointID string) (tenants.EndpointConfig, error) {
	now := s.Now()
	rows, err := s.pg.Query(ctx, `SELECT e.id, e.tenant_id, e.revision, e.url, e.headers, e.sealed_headers, e.throttle_rate, COALESCE(e.max_concurrency, 0), e.retry_schedule,
			k.sealed, k.expires_at,
			sec.mtls_sealed, sec.server_ca, sec.oauth_sealed,
			tr.code, COALESCE(tr.enabled, false), tr.sealed_variables, tr.updated_at
		FROM endpoints e
		LEFT JOIN LATERAL (
			SELECT sealed, expires_at, id FROM endpoint_secrets
			WHERE endpoint_id = e.id AND (expires_at IS NULL OR expires_at > $3)
		) k ON true
		LEFT JOIN endpoint_security sec ON sec.endpoint_id = e.id
		LEFT JOIN endpoint_transformations tr ON tr.tenant_id = e.tenant_id AND tr.endpoint_id = e.id
		WHERE e.tenant_id = $1 AND e.id = $2
		ORDER BY k.expires_at IS NOT NULL, k.id DESC`, tenantID, endpointID, now)
	if err != nil {
		return tenants.EndpointConfig{}, fmt.Errorf("load endpoint %s: %w", endpointID, translate(err))
	}
	defer rows.Close()
	var (
		c       tenants.EndpointConfig
		headers []byte
		sealedH []byte
		sched   []byte
		found   bool
		// The endpoint's security settings and transformation, the same
		// on every row.
		mtls, oauth, trSealed []byte
		ca, trCode            *string
		trEnabled             bool
		trUpdated             *time.Time
	)
	c.SecretsValidUntil = now.Add(24 * time.Hour)
	for rows.Next() {
		var (
			sealed []byte
			exp    *time.Time
		)
		if err := rows.Scan(&c.ID, &c.TenantID, &c.Revision, &c.URL, &headers, &sealedH, &c.ThrottleRate, &c.MaxConcurrency, &sched, &sealed, &exp,
			&mtls, &ca, &oauth, &trCode, &trEnabled, &trSealed, &trUpdated); err != nil {
			return tenants.EndpointConfig{}, fmt.Errorf("scan endpoint %s: %w", endpointID, err)
		}
		found = true
		if sealed == nil {
			continue // no live secret
		}
		plain, err := s.cipher.Open(sealed, []byte(endpointID))
		if err != nil {
			return tenants.EndpointConfig{}, fmt.Errorf("secret of %s: %w", endpointID, err)
		}
		c.Secrets = append(c.Secrets, string(plain))
		if exp != nil && exp.Before(c.SecretsValidUntil) {
			c.SecretsValidUntil = *exp
		}
	}
	if err := rows.Err(); err != nil {
		return tenants.EndpointConfig{}, fmt.Errorf("load endpoint %s: %w", endpointID, translate(err))
	}
	if !found {
		return tenants.EndpointConfig{}, fmt.Errorf("load endpoint %s: %w", endpointID, tenants.ErrNotFound)
	}
	if len(headers) > 0 {
		if err := json.Unmarshal(headers, &c.Headers); err != nil {
			return tenants.EndpointConfig{}, fmt.Errorf("endpoint %s headers: %w", endpointID, err)
		}
	}
	if c.Headers, err = s.openHeaders(endpointID, sealedH, c.Headers); err != nil {
		return tenants.EndpointConfig{}, err
	}
	if c.Security, err = s.openEndpointSecurity(endpointID, mtls, ca, oauth); err != nil {
		return tenants.EndpointConfig{}, err
	}
	if len(sched) > 0 && string(sched) != "null" {
		var ms []int64
		if err := json.Unmarshal(sched, &ms); err != nil {
			return tenants.EndpointConfig{}, fmt.Errorf("endpoint %s retry schedule: %w", endpointID, err)
		}
		c.RetrySchedule = make([]time.Duration, len(ms))
		for i, v := range ms {
			c.RetrySchedule[i] = time.Duration(v) * time.Millisecond
		}
	}
	t, err := s.openTransformation(endpointID, trCode, trEnabled, trSealed, trUpdated)
	if err != nil {
		return tenants.EndpointConfig{}, err
	}
	if t.Active() {
		c.Transformation = &t
	}
	return c, nil
}
