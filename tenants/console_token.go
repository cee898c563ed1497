package tenants

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Console token kinds and prefixes. A link is one-time and opens a
// session; a session is what the console sends as its bearer token.
const (
	ConsoleLink          = "link"
	ConsoleSession       = "session"
	ConsoleLinkPrefix    = "hlcl_"
	ConsoleSessionPrefix = "hlcs_"
	prefixConsoleToken   = "ctok_"
)

// ConsoleToken is a stored console link or session (its hash only).
type ConsoleToken struct {
	ID        string `gorm:"primaryKey"`
	TenantID  string
	Kind      string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// LooksLikeConsoleSession reports whether a bearer token is a console
// session token (rather than an API key or a JWT).
func LooksLikeConsoleSession(token string) bool {
	return strings.HasPrefix(token, ConsoleSessionPrefix)
}

func newConsoleSecret(kind string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("tenants: crypto/rand failed: " + err.Error())
	}
	p := ConsoleSessionPrefix
	if kind == ConsoleLink {
		p = ConsoleLinkPrefix
	}
	return p + base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateConsoleToken mints a console link or session for an active
// tenant, valid for ttl, and returns the only copy of the token in clear.
// An unknown tenant is ErrNotFound; a suspended one ErrForbidden.
func (s *Store) CreateConsoleToken(ctx context.Context, tenantID, kind string, ttl time.Duration) (ConsoleToken, string, error) {
	t, err := s.FindTenantByID(ctx, tenantID)
	if err != nil {
		return ConsoleToken{}, "", err
	}
	if t.Status != TenantActive {
		return ConsoleToken{}, "", fmt.Errorf("console token for %s: %w", tenantID, ErrForbidden)
	}
	now := s.Now()
	secret := newConsoleSecret(kind)
	ct := ConsoleToken{ID: NewID(prefixConsoleToken, now), TenantID: tenantID, Kind: kind, Hash: HashAPIKey(secret),
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.q(ctx).Create(&ct).Error; err != nil {
		return ConsoleToken{}, "", fmt.Errorf("create console token: %w", translate(err))
	}
	// Dead rows only take room; a day past expiry nobody asks about them.
	if err := s.q(ctx).Exec(`DELETE FROM console_tokens WHERE expires_at < ?`, now.Add(-24*time.Hour)).Error; err != nil {
		return ConsoleToken{}, "", fmt.Errorf("prune console tokens: %w", translate(err))
	}
	return ct, secret, nil
}

// FindConsoleSession returns the live (unexpired, unrevoked) session of a
// raw session token, or ErrNotFound.
func (s *Store) FindConsoleSession(ctx context.Context, raw string) (ConsoleToken, error) {
	var ct ConsoleToken
	err := s.q(ctx).Where("hash = ? AND kind = ? AND revoked_at IS NULL AND expires_at > ?", HashAPIKey(raw), ConsoleSession, s.Now()).
		Take(&ct).Error
	if err != nil {
		return ConsoleToken{}, fmt.Errorf("find console session: %w", translate(err))
	}
	return ct, nil
}

// UseConsoleLink spends a one-time link and returns it: a link works once,
// before it expires. A used, expired or unknown link is ErrNotFound.
func (s *Store) UseConsoleLink(ctx context.Context, raw string) (ConsoleToken, error) {
	var ct ConsoleToken
	now := s.Now()
	res := s.q(ctx).Raw(`UPDATE console_tokens SET used_at = ? WHERE hash = ? AND kind = ? AND used_at IS NULL
		AND revoked_at IS NULL AND expires_at > ? RETURNING *`, now, HashAPIKey(raw), ConsoleLink, now).Scan(&ct)
	if res.Error != nil {
		return ConsoleToken{}, fmt.Errorf("use console link: %w", translate(res.Error))
	}
	if ct.ID == "" {
		return ConsoleToken{}, fmt.Errorf("use console link: %w", ErrNotFound)
	}
	return ct, nil
}

// RevokeConsoleToken ends a session (or link) at once, by its raw token.
// Revoking twice, or an unknown token, is not an error.
func (s *Store) RevokeConsoleToken(ctx context.Context, tenantID, raw string) error {
	err := s.q(ctx).Exec(`UPDATE console_tokens SET revoked_at = ? WHERE tenant_id = ? AND hash = ? AND revoked_at IS NULL`,
		s.Now(), tenantID, HashAPIKey(raw)).Error
	if err != nil {
		return fmt.Errorf("revoke console token: %w", translate(err))
	}
	return nil
}
