package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// ClaimIdempotencyKey tries to become the first request for key. It
// returns claimed when this request should run (and later Complete or
// Release the key); otherwise the stored response if the first request
// finished, or neither while it is still running. A claim left by a request
// that died frees itself after lock.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, tenantID string, key, fingerprint []byte, lock, ttl time.Duration) (claimed bool, stored *tenants.StoredResponse, err error) {
	now := s.Now()
	var one int
	err = s.pg.QueryRow(ctx, `INSERT INTO idempotency_keys (key, tenant_id, fingerprint, locked_until, expires_at) VALUES ($1, $5, $6, $2, $3)
		ON CONFLICT (key) DO UPDATE SET locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at,
			tenant_id = EXCLUDED.tenant_id, fingerprint = EXCLUDED.fingerprint,
			status_code = NULL, headers = NULL, body = NULL, msg_id = NULL
		WHERE idempotency_keys.expires_at < $4
			OR (idempotency_keys.status_code IS NULL AND idempotency_keys.locked_until < $4)
		RETURNING 1`, key, now.Add(lock), now.Add(ttl), now, tenantID, fingerprint).Scan(&one)
	if err == nil {
		return true, nil, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, nil, fmt.Errorf("claim idempotency key: %w", translate(err))
	}
	var (
		code    *int
		headers []byte
		body    []byte
		fp      []byte
	)
	err = s.pg.QueryRow(ctx, `SELECT status_code, headers, body, fingerprint FROM idempotency_keys WHERE key = $1`, key).Scan(&code, &headers, &body, &fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.ClaimIdempotencyKey(ctx, tenantID, key, fingerprint, lock, ttl) // released meanwhile
	}
	if err != nil {
		return false, nil, fmt.Errorf("read idempotency key: %w", translate(err))
	}
	if code == nil {
		return false, nil, nil
	}
	st := &tenants.StoredResponse{StatusCode: *code, Body: body, Fingerprint: fp}
	if len(headers) > 0 {
		_ = json.Unmarshal(headers, &st.Headers)
	}
	return false, st, nil
}

// CompleteIdempotencyKey stores the 2xx response of the claimed key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, key []byte, r tenants.StoredResponse) error {
	h, _ := json.Marshal(r.Headers)
	_, err := s.pg.Exec(ctx, `UPDATE idempotency_keys SET status_code = $2, headers = $3, body = $4, locked_until = NULL WHERE key = $1`,
		key, r.StatusCode, h, r.Body)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", translate(err))
	}
	return nil
}

// ReleaseIdempotencyKey frees a claimed key whose request did not succeed,
// so a retry runs afresh.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, key []byte) error {
	if _, err := s.pg.Exec(ctx, `DELETE FROM idempotency_keys WHERE key = $1 AND status_code IS NULL`, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", translate(err))
	}
	return nil
}

// DeleteExpiredIdempotencyKeys removes keys past their lifetime, at most
// limit at a time, and returns how many it removed.
func (s *Store) DeleteExpiredIdempotencyKeys(ctx context.Context, limit int) (int64, error) {
	tag, err := s.pg.Exec(ctx, `DELETE FROM idempotency_keys WHERE key IN (
		SELECT key FROM idempotency_keys WHERE expires_at < $1 LIMIT $2)`, s.Now(), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", translate(err))
	}
	return tag.RowsAffected(), nil
}
