package tenants

import "time"

// Tenant statuses.
const (
	TenantActive    = "active"
	TenantSuspended = "suspended"
)

// Tenant is a customer of the platform: a SaaS company that sends webhooks
// to its own customers.
type Tenant struct {
	ID     string
	Name   string
	Status string
	// TokensValidAfter, when set, refuses every tenant JWT issued before
	// it (see RevokeTenantTokens); nil means none is refused for its age.
	TokensValidAfter *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
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

// RevocationInstant is the instant from which a revocation of tenant JWTs
// requested at at applies: at rounded up to the whole second, since a
// JWT's iat is in whole seconds, so a token minted in the same second as
// the revocation is refused too.
func RevocationInstant(at time.Time) time.Time {
	if t := at.Truncate(time.Second); !t.Equal(at) {
		return t.Add(time.Second)
	}
	return at
}
