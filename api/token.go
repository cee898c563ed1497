package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/tenants"
)

// Token issuer and audience. App-portal tokens (the portal package's) are
// signed with a key derived from the same secret and carry their own
// audience, so one can never be replayed as the other.
const (
	tokenIssuer    = "hookline"
	tenantAudience = "hookline-api"
	clockLeeway    = 30 * time.Second
)

// DefaultTenantTTL is the lifetime of a minted tenant JWT (`hookline tenant
// create`, `hookline jwt generate`, the operator API) unless
// HOOKLINE_JWT_TTL says otherwise: long enough for a deployment's config,
// short enough that a leaked token does not outlive a rotation cycle.
const DefaultTenantTTL = 30 * 24 * time.Hour

// Tokens signs and verifies tenant JWTs (HS256 only). It is safe for
// concurrent use.
type Tokens struct {
	tenantKey []byte
	now       func() time.Time
}

// NewTokens uses secret (HOOKLINE_JWT_SECRET) as the tenant signing key.
// now is the clock; nil means time.Now.
func NewTokens(secret string, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{tenantKey: []byte(secret), now: now}
}

// TenantToken returns a tenant JWT for tenantID valid for ttl.
func (t *Tokens) TenantToken(tenantID string, ttl time.Duration) (string, error) {
	now := t.now()
	claims := jwt.RegisteredClaims{
		Issuer: tokenIssuer, Subject: tenantID, Audience: jwt.ClaimStrings{tenantAudience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.tenantKey)
	if err != nil {
		return "", fmt.Errorf("sign tenant token: %w", err)
	}
	return s, nil
}

// errBadToken is any invalid token; the detail is safe to show.
var errBadToken = errors.New("invalid token")

// ParseTenantToken verifies a tenant JWT and returns its tenant id. The
// algorithm is pinned to HS256; exp and nbf are enforced, and so is iat:
// a token issued more than the clock leeway in the future is refused (it
// would otherwise outlive every revoke-tokens until its iat passed).
func (t *Tokens) ParseTenantToken(s string) (string, error) {
	id, _, err := t.ParseTenantTokenClaims(s)
	return id, err
}

// ParseTenantTokenClaims is ParseTenantToken that also returns the token's
// issue time (zero when it has no iat claim, as some Svix-minted tokens),
// which the Authenticator compares with the tenant's tokens-valid-after
// time.
func (t *Tokens) ParseTenantTokenClaims(s string) (tenantID string, issuedAt time.Time, err error) {
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(s, &claims, func(*jwt.Token) (any, error) { return t.tenantKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithLeeway(clockLeeway), jwt.WithTimeFunc(t.now),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %w", errBadToken, err)
	}
	// Tokens minted by a Svix server (no audience) are accepted as long as
	// sub names a tenant; an app-portal audience never is.
	if len(claims.Audience) > 0 && !slices.Contains(claims.Audience, tenantAudience) {
		return "", time.Time{}, fmt.Errorf("%w: wrong audience", errBadToken)
	}
	if !strings.HasPrefix(claims.Subject, tenants.PrefixTenant) {
		return "", time.Time{}, fmt.Errorf("%w: subject is not a tenant id", errBadToken)
	}
	if claims.IssuedAt != nil {
		issuedAt = claims.IssuedAt.Time
	}
	return claims.Subject, issuedAt, nil
}
