package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// consoleTokenRow is a row of console_tokens (a token's hash only).
type consoleTokenRow struct {
	ID        string `gorm:"primaryKey"`
	TenantID  string
	Kind      string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

func (consoleTokenRow) TableName() string { return "console_tokens" }

// CreateConsoleToken mints a console link or session for an active
// tenant, valid for ttl, and returns the only copy of the token in clear.
// An unknown tenant is ErrNotFound; a suspended one ErrForbidden.
func (s *Store) CreateConsoleToken(ctx context.Context, tenantID, kind string, ttl time.Duration) (tenants.ConsoleToken, string, error) {
	t, err := s.FindTenantByID(ctx, tenantID)
	if err != nil {
		return tenants.ConsoleToken{}, "", err
	}
	if t.Status != tenants.TenantActive {
		return tenants.ConsoleToken{}, "", fmt.Errorf("console token for %s: %w", tenantID, tenants.ErrForbidden)
	}
	now := s.Now()
	secret := tenants.NewConsoleSecret(kind)
	r := consoleTokenRow{ID: tenants.NewID(tenants.PrefixConsoleToken, now), TenantID: tenantID, Kind: kind,
		Hash: tenants.HashAPIKey(secret), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.q(ctx).Create(&r).Error; err != nil {
		return tenants.ConsoleToken{}, "", fmt.Errorf("create console token: %w", translate(err))
	}
	// Dead rows only take room; a day past expiry nobody asks about them.
	if err := s.q(ctx).Exec(`DELETE FROM console_tokens WHERE expires_at < ?`, now.Add(-24*time.Hour)).Error; err != nil {
		return tenants.ConsoleToken{}, "", fmt.Errorf("prune console tokens: %w", translate(err))
	}
	return tenants.ConsoleToken(r), secret, nil
}

// FindConsoleSession returns the live (unexpired, unrevoked) session of a
// raw session token, or ErrNotFound.
func (s *Store) FindConsoleSession(ctx context.Context, raw string) (tenants.ConsoleToken, error) {
	var r consoleTokenRow
	err := s.q(ctx).Where("hash = ? AND kind = ? AND revoked_at IS NULL AND expires_at > ?",
		tenants.HashAPIKey(raw), tenants.ConsoleSession, s.Now()).Take(&r).Error
	if err != nil {
		return tenants.ConsoleToken{}, fmt.Errorf("find console session: %w", translate(err))
	}
	return tenants.ConsoleToken(r), nil
}

// UseConsoleLink spends a one-time link and returns it: a link works once,
// before it expires. A used, expired or unknown link is ErrNotFound.
func (s *Store) UseConsoleLink(ctx context.Context, raw string) (tenants.ConsoleToken, error) {
	var r consoleTokenRow
	now := s.Now()
	res := s.q(ctx).Raw(`UPDATE console_tokens SET used_at = ? WHERE hash = ? AND kind = ? AND used_at IS NULL
		AND revoked_at IS NULL AND expires_at > ? RETURNING *`, now, tenants.HashAPIKey(raw), tenants.ConsoleLink, now).Scan(&r)
	if res.Error != nil {
		return tenants.ConsoleToken{}, fmt.Errorf("use console link: %w", translate(res.Error))
	}
	if r.ID == "" {
		return tenants.ConsoleToken{}, fmt.Errorf("use console link: %w", tenants.ErrNotFound)
	}
	return tenants.ConsoleToken(r), nil
}

// RevokeConsoleToken ends a session (or link) at once, by its raw token.
// Revoking twice, or an unknown token, is not an error.
func (s *Store) RevokeConsoleToken(ctx context.Context, tenantID, raw string) error {
	err := s.q(ctx).Exec(`UPDATE console_tokens SET revoked_at = ? WHERE tenant_id = ? AND hash = ? AND revoked_at IS NULL`,
		s.Now(), tenantID, tenants.HashAPIKey(raw)).Error
	if err != nil {
		return fmt.Errorf("revoke console token: %w", translate(err))
	}
	return nil
}
