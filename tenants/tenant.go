package tenants

import (
	"context"
	"fmt"
	"time"
)

// Tenant statuses.
const (
	TenantActive    = "active"
	TenantSuspended = "suspended"
)

// Tenant is a customer of the platform: a SaaS company that sends webhooks
// to its own customers.
type Tenant struct {
	ID     string `gorm:"primaryKey"`
	Name   string
	Status string
	// TokensValidAfter, when set, refuses every tenant JWT issued before
	// it (see RevokeTenantTokens); nil means none is refused for its age.
	TokensValidAfter *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// CreateTenant stores a new active tenant and returns it.
func (s *Store) CreateTenant(ctx context.Context, name string) (Tenant, error) {
	if name == "" {
		return Tenant{}, Invalid("name", "name is required")
	}
	now := s.Now()
	t := Tenant{ID: NewID(PrefixTenant, now), Name: name, Status: TenantActive, CreatedAt: now, UpdatedAt: now}
	if err := s.q(ctx).Create(&t).Error; err != nil {
		return Tenant{}, fmt.Errorf("create tenant: %w", translate(err))
	}
	return t, nil
}

// FindTenantByID returns the tenant or ErrNotFound.
func (s *Store) FindTenantByID(ctx context.Context, id string) (Tenant, error) {
	var t Tenant
	if err := s.q(ctx).Where("id = ?", id).Take(&t).Error; err != nil {
		return Tenant{}, fmt.Errorf("find tenant %s: %w", id, translate(err))
	}
	return t, nil
}

// FindTenants returns a page of tenants, oldest first.
func (s *Store) FindTenants(ctx context.Context, p ListParams) (Page[Tenant], error) {
	pg, err := paginate(s.q(ctx).Model(&Tenant{}), "id", p, func(t *Tenant) string { return t.ID })
	if err != nil {
		return pg, fmt.Errorf("find tenants: %w", err)
	}
	return pg, nil
}

// FindTenantByName returns the oldest tenant with that name, or ErrNotFound.
func (s *Store) FindTenantByName(ctx context.Context, name string) (Tenant, error) {
	var t Tenant
	if err := s.q(ctx).Where("name = ?", name).Order("id").Take(&t).Error; err != nil {
		return Tenant{}, fmt.Errorf("find tenant named %q: %w", name, translate(err))
	}
	return t, nil
}

// SetTenantStatus suspends or resumes a tenant.
func (s *Store) SetTenantStatus(ctx context.Context, id, status string) (Tenant, error) {
	if status != TenantActive && status != TenantSuspended {
		return Tenant{}, Invalid("status", "must be active or suspended")
	}
	res := s.q(ctx).Model(&Tenant{}).Where("id = ?", id).Updates(map[string]any{"status": status, "updated_at": s.Now()})
	if res.Error != nil {
		return Tenant{}, fmt.Errorf("set tenant %s status: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return Tenant{}, fmt.Errorf("set tenant %s status: %w", id, ErrNotFound)
	}
	return s.FindTenantByID(ctx, id)
}

// CreateAPIKey mints a key for the tenant. The returned string is the only
// copy of the key in clear.
func (s *Store) CreateAPIKey(ctx context.Context, tenantID, name string) (APIKey, string, error) {
	if _, err := s.FindTenantByID(ctx, tenantID); err != nil {
		return APIKey{}, "", err
	}
	secret := NewAPIKeySecret()
	now := s.Now()
	k := APIKey{
		ID: NewID(PrefixAPIKey, now), TenantID: tenantID, Name: name,
		Prefix: apiKeyDisplayPrefix(secret), Hash: HashAPIKey(secret), CreatedAt: now,
	}
	if err := s.q(ctx).Create(&k).Error; err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", translate(err))
	}
	return k, secret, nil
}

// FindAPIKeys lists a tenant's keys, revoked ones included, oldest first.
func (s *Store) FindAPIKeys(ctx context.Context, tenantID string) ([]APIKey, error) {
	var keys []APIKey
	if err := s.q(ctx).Where("tenant_id = ?", tenantID).Order("id").Find(&keys).Error; err != nil {
		return nil, fmt.Errorf("find api keys: %w", translate(err))
	}
	return keys, nil
}

// RevokeAPIKey marks a key revoked; revoking twice is not an error.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, keyID string) (APIKey, error) {
	res := s.q(ctx).Model(&APIKey{}).Where("tenant_id = ? AND id = ? AND revoked_at IS NULL", tenantID, keyID).
		Update("revoked_at", s.Now())
	if res.Error != nil {
		return APIKey{}, fmt.Errorf("revoke api key %s: %w", keyID, translate(res.Error))
	}
	var k APIKey
	if err := s.q(ctx).Where("tenant_id = ? AND id = ?", tenantID, keyID).Take(&k).Error; err != nil {
		return APIKey{}, fmt.Errorf("revoke api key %s: %w", keyID, translate(err))
	}
	return k, nil
}

// Credential is what an API key resolves to.
type Credential struct {
	KeyID        string
	TenantID     string
	TenantStatus string
	Revoked      bool
	// TokensValidAfter is the tenant's JWT revocation time (nil: none).
	TokensValidAfter *time.Time
}

// FindCredentialByHash resolves a hashed API key to its tenant, or
// ErrNotFound.
func (s *Store) FindCredentialByHash(ctx context.Context, hash []byte) (Credential, error) {
	var c Credential
	err := s.q(ctx).Raw(`SELECT k.id AS key_id, k.tenant_id, t.status AS tenant_status, k.revoked_at IS NOT NULL AS revoked,
		t.tokens_valid_after FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ?`, hash).Scan(&c).Error
	if err != nil {
		return Credential{}, fmt.Errorf("find credential: %w", translate(err))
	}
	if c.KeyID == "" {
		return Credential{}, fmt.Errorf("find credential: %w", ErrNotFound)
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

// RevokeTenantTokens makes every tenant JWT of the tenant issued before at
// invalid (at zero means now). at is rounded up to the whole second, since
// a JWT's iat is in whole seconds: a token minted in the same second as the
// revocation is refused too. Moving the time back un-revokes nothing that
// has expired, but does accept tokens issued after the new time again.
// ErrNotFound when the tenant does not exist.
func (s *Store) RevokeTenantTokens(ctx context.Context, id string, at time.Time) (Tenant, error) {
	if at.IsZero() {
		at = s.Now()
	}
	if t := at.Truncate(time.Second); !t.Equal(at) {
		at = t.Add(time.Second)
	}
	res := s.q(ctx).Model(&Tenant{}).Where("id = ?", id).Updates(map[string]any{"tokens_valid_after": at.UTC(), "updated_at": s.Now()})
	if res.Error != nil {
		return Tenant{}, fmt.Errorf("revoke tenant %s tokens: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return Tenant{}, fmt.Errorf("revoke tenant %s tokens: %w", id, ErrNotFound)
	}
	return s.FindTenantByID(ctx, id)
}
