package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// Poller tokens (poller_tokens, migration 0019): a token that may read one
// polling endpoint. The authenticator finds a token by its SHA-256 alone;
// the token is kept sealed (the token's id in the associated data) only
// so that the tenant can be shown the current one again.

// pollerTokenAD is the associated data of a sealed poller token.
func pollerTokenAD(id string) []byte { return destAD("poller-token", id) }

// PollerToken returns the current token of polling endpoint ref, making
// one (that never expires) when it has none that is live. ErrNotFound
// when ref is not a polling endpoint of the application.
func (s *Store) PollerToken(ctx context.Context, tenantID, appID, ref string) (tenants.PollerToken, error) {
	var out tenants.PollerToken
	err := s.InTx(ctx, func(tx *Store) error {
		d, err := tx.lockPollingDestination(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		var (
			id      string
			sealed  []byte
			created time.Time
			expires *time.Time
		)
		err = tx.pg.QueryRow(ctx, `SELECT id, sealed_token, created_at, expires_at FROM poller_tokens
			WHERE destination_id = $1 AND tenant_id = $2 AND replaced_at IS NULL AND (expires_at IS NULL OR expires_at > $3)
			ORDER BY created_at DESC LIMIT 1`, d.ID, tenantID, tx.Now()).Scan(&id, &sealed, &created, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			out, err = tx.insertPollerToken(ctx, d, nil)
			return err
		}
		if err != nil {
			return fmt.Errorf("find poller token of %s: %w", d.ID, translate(err))
		}
		plain, err := tx.cipher.Open(sealed, pollerTokenAD(id))
		if err != nil {
			return fmt.Errorf("poller token %s: %w", id, err)
		}
		out = tenants.PollerToken{ID: id, TenantID: tenantID, AppID: d.AppID, DestinationID: d.ID, Token: string(plain),
			CreatedAt: created.UTC(), ExpiresAt: utcPtr(expires)}
		return nil
	})
	return out, err
}

// RotatePollerToken makes a new token for polling endpoint ref, valid for
// expiry (0: no end), and ends the older ones after oldExpiry (0: at
// once). It returns the new token.
func (s *Store) RotatePollerToken(ctx context.Context, tenantID, appID, ref string, expiry, oldExpiry time.Duration) (tenants.PollerToken, error) {
	var out tenants.PollerToken
	err := s.InTx(ctx, func(tx *Store) error {
		d, err := tx.lockPollingDestination(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		now := tx.Now()
		if _, err := tx.pg.Exec(ctx, `UPDATE poller_tokens SET replaced_at = COALESCE(replaced_at, $1),
				expires_at = LEAST(COALESCE(expires_at, 'infinity'::timestamptz), $2)
			WHERE destination_id = $3 AND tenant_id = $4 AND (expires_at IS NULL OR expires_at > $1)`,
			now, now.Add(oldExpiry), d.ID, tenantID); err != nil {
			return fmt.Errorf("expire poller tokens of %s: %w", d.ID, translate(err))
		}
		var exp *time.Time
		if expiry > 0 {
			t := now.Add(expiry)
			exp = &t
		}
		out, err = tx.insertPollerToken(ctx, d, exp)
		return err
	})
	return out, err
}

// FindPollerToken returns the poller token whose SHA-256 is hash, without
// its secret, if its polling endpoint is still live (expired tokens are
// returned too: the caller checks LiveAt). ErrNotFound otherwise.
func (s *Store) FindPollerToken(ctx context.Context, hash []byte) (tenants.PollerToken, error) {
	var t tenants.PollerToken
	err := s.pg.QueryRow(ctx, `SELECT p.id, p.tenant_id, p.app_id, p.destination_id, p.created_at, p.expires_at
		FROM poller_tokens p JOIN destinations d ON d.id = p.destination_id
		WHERE p.token_hash = $1 AND d.deleted_at IS NULL AND d.type = $2`, hash, tenants.DestinationPolling).
		Scan(&t.ID, &t.TenantID, &t.AppID, &t.DestinationID, &t.CreatedAt, &t.ExpiresAt)
	if err != nil {
		return t, fmt.Errorf("find poller token: %w", translate(err))
	}
	t.ExpiresAt = utcPtr(t.ExpiresAt)
	return t, nil
}

// lockPollingDestination finds polling endpoint ref and locks its row, so
// that token changes of one endpoint are serialised (two first GETs make
// one token, not two).
func (s *Store) lockPollingDestination(ctx context.Context, tenantID, appID, ref string) (tenants.Destination, error) {
	d, err := s.pollingDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return d, err
	}
	if _, err := s.pg.Exec(ctx, `SELECT 1 FROM destinations WHERE id = $1 FOR UPDATE`, d.ID); err != nil {
		return d, fmt.Errorf("lock destination %s: %w", d.ID, translate(err))
	}
	return d, nil
}

func (s *Store) insertPollerToken(ctx context.Context, d tenants.Destination, expires *time.Time) (tenants.PollerToken, error) {
	if s.cipher == nil {
		return tenants.PollerToken{}, errors.New("poller tokens need the encryption key")
	}
	now := s.Now()
	t := tenants.PollerToken{ID: tenants.NewID(tenants.PrefixPollerToken, now), TenantID: d.TenantID, AppID: d.AppID,
		DestinationID: d.ID, Token: tenants.NewPollerTokenSecret(), CreatedAt: now, ExpiresAt: expires}
	hash := sha256.Sum256([]byte(t.Token))
	if _, err := s.pg.Exec(ctx, `INSERT INTO poller_tokens (id, tenant_id, app_id, destination_id, token_hash, sealed_token, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, t.TenantID, t.AppID, t.DestinationID, hash[:],
		s.cipher.Seal([]byte(t.Token), pollerTokenAD(t.ID)), now, expires); err != nil {
		return t, fmt.Errorf("create poller token of %s: %w", d.ID, translate(err))
	}
	return t, nil
}
