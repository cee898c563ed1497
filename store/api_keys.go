package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// apiKeyRow is a row of api_keys.
type apiKeyRow struct {
	ID         string `gorm:"primaryKey"`
	TenantID   string
	Name       string
	Prefix     string
	Hash       []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }

// CreateAPIKey mints a key for the tenant. The returned string is the only
// copy of the key in clear.
func (s *Store) CreateAPIKey(ctx context.Context, tenantID, name string) (tenants.APIKey, string, error) {
	if _, err := s.FindTenantByID(ctx, tenantID); err != nil {
		return tenants.APIKey{}, "", err
	}
	secret := tenants.NewAPIKeySecret()
	now := s.Now()
	r := apiKeyRow{
		ID: tenants.NewID(tenants.PrefixAPIKey, now), TenantID: tenantID, Name: name,
		Prefix: tenants.APIKeyDisplayPrefix(secret), Hash: tenants.HashAPIKey(secret), CreatedAt: now,
	}
	if err := s.q(ctx).Create(&r).Error; err != nil {
		return tenants.APIKey{}, "", fmt.Errorf("create api key: %w", translate(err))
	}
	return tenants.APIKey(r), secret, nil
}

// FindAPIKeys lists a tenant's keys, revoked ones included, oldest first.
func (s *Store) FindAPIKeys(ctx context.Context, tenantID string) ([]tenants.APIKey, error) {
	var rows []apiKeyRow
	if err := s.q(ctx).Where("tenant_id = ?", tenantID).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find api keys: %w", translate(err))
	}
	out := make([]tenants.APIKey, len(rows))
	for i, r := range rows {
		out[i] = tenants.APIKey(r)
	}
	return out, nil
}

// RevokeAPIKey marks a key revoked; revoking twice is not an error.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, keyID string) (tenants.APIKey, error) {
	res := s.q(ctx).Model(&apiKeyRow{}).Where("tenant_id = ? AND id = ? AND revoked_at IS NULL", tenantID, keyID).
		Update("revoked_at", s.Now())
	if res.Error != nil {
		return tenants.APIKey{}, fmt.Errorf("revoke api key %s: %w", keyID, translate(res.Error))
	}
	var r apiKeyRow
	if err := s.q(ctx).Where("tenant_id = ? AND id = ?", tenantID, keyID).Take(&r).Error; err != nil {
		return tenants.APIKey{}, fmt.Errorf("revoke api key %s: %w", keyID, translate(err))
	}
	return tenants.APIKey(r), nil
}

// FindCredentialByHash resolves a hashed API key to its tenant, or
// ErrNotFound.
func (s *Store) FindCredentialByHash(ctx context.Context, hash []byte) (tenants.Credential, error) {
	var c tenants.Credential
	err := s.q(ctx).Raw(`SELECT k.id AS key_id, k.tenant_id, t.status AS tenant_status, k.revoked_at IS NOT NULL AS revoked,
		t.tokens_valid_after FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ?`, hash).Scan(&c).Error
	if err != nil {
		return tenants.Credential{}, fmt.Errorf("find credential: %w", translate(err))
	}
	if c.KeyID == "" {
		return tenants.Credential{}, fmt.Errorf("find credential: %w", tenants.ErrNotFound)
	}
	return c, nil
}

// TouchAPIKeys records last use for many keys in one statement; the auth
// layer batches calls so a request never pays for a write.
func (s *Store) TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	type row struct {
		ID string    `json:"id"`
		T  time.Time `json:"t"`
	}
	rows := make([]row, 0, len(lastUsed))
	for id, t := range lastUsed {
		rows = append(rows, row{id, t.UTC()})
	}
	err := s.q(ctx).Exec(`UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, v.t)
		FROM jsonb_to_recordset(?::jsonb) AS v(id text, t timestamptz) WHERE k.id = v.id`, jsonArg(rows)).Error
	if err != nil {
		return fmt.Errorf("touch api keys: %w", translate(err))
	}
	return nil
}
