package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/tenants"
)

// App-portal tokens: Svix's "sub" (the app) and "org" (the tenant) in an
// HS256 JWT with their own audience and a key derived from the JWT secret,
// so one is never accepted as a tenant token, nor a tenant token as one.
const (
	tokenIssuer = "hookline"
	appAudience = "hookline-app-portal"
	clockLeeway = 30 * time.Second
)

// ErrBadToken is any invalid app-portal token (malformed, wrongly signed,
// expired, not an app-portal token); the detail is safe to show.
var ErrBadToken = errors.New("invalid token")

// AppTokens signs and verifies app-portal tokens. It is safe for
// concurrent use.
type AppTokens struct {
	key []byte
	now func() time.Time
}

// NewAppTokens derives the app-portal signing key from secret
// (HOOKLINE_JWT_SECRET). now is the clock; nil means time.Now.
func NewAppTokens(secret string, now func() time.Time) *AppTokens {
	if now == nil {
		now = time.Now
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("hookline app-portal token key v1"))
	return &AppTokens{key: mac.Sum(nil), now: now}
}

// appClaims is the app-portal JWT, plus what Hookline needs to revoke and
// limit it. iat_us carries the issue instant in microseconds, because
// "expire all, then mint a new link" happens within one second and "iat"
// counts whole seconds.
type appClaims struct {
	jwt.RegisteredClaims
	Org          string   `json:"org"`
	Session      string   `json:"sid,omitempty"`
	ReadOnly     bool     `json:"read_only,omitempty"`
	Capabilities []string `json:"capabilities"`
	FeatureFlags []string `json:"feature_flags,omitempty"`
	IssuedMicros int64    `json:"iat_us"`
}

// Mint signs an app-portal token for spec, valid for ttl from now, and
// returns it with the completed spec (ID, IssuedAt, ExpiresAt; all
// capabilities when spec has none, and always CapViewBase).
func (t *AppTokens) Mint(spec tenants.AppToken, ttl time.Duration) (string, tenants.AppToken, error) {
	now := t.now()
	if spec.Capabilities == 0 {
		spec.Capabilities = tenants.AllCapabilities
	}
	spec.Capabilities |= tenants.CapViewBase
	spec.ID = tenants.NewID(tenants.PrefixAppToken, now)
	spec.IssuedAt = now
	spec.ExpiresAt = now.Add(ttl)
	claims := appClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Subject: spec.AppID, Audience: jwt.ClaimStrings{appAudience}, ID: spec.ID,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(spec.ExpiresAt),
		},
		Org: spec.TenantID, Session: spec.SessionID, ReadOnly: spec.ReadOnly,
		Capabilities: spec.Capabilities.Names(), FeatureFlags: spec.FeatureFlags, IssuedMicros: now.UnixMicro(),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.key)
	if err != nil {
		return "", tenants.AppToken{}, fmt.Errorf("sign app token: %w", err)
	}
	return s, spec, nil
}

// Parse verifies an app-portal token (signature, HS256 only, audience,
// issuer, exp and nbf) and returns what it grants. Any failure wraps
// ErrBadToken. It does not consult revocations: that is Checker's job.
func (t *AppTokens) Parse(s string) (tenants.AppToken, error) {
	var c appClaims
	_, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithLeeway(clockLeeway), jwt.WithTimeFunc(t.now),
		jwt.WithExpirationRequired(), jwt.WithAudience(appAudience), jwt.WithIssuer(tokenIssuer))
	if err != nil {
		return tenants.AppToken{}, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	if !strings.HasPrefix(c.Subject, tenants.PrefixApplication) || !strings.HasPrefix(c.Org, tenants.PrefixTenant) ||
		!strings.HasPrefix(c.ID, tenants.PrefixAppToken) {
		return tenants.AppToken{}, fmt.Errorf("%w: not an app-portal token", ErrBadToken)
	}
	caps, err := tenants.ParseCapabilities(c.Capabilities)
	if err != nil {
		return tenants.AppToken{}, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	issued := time.UnixMicro(c.IssuedMicros)
	if c.IssuedMicros == 0 && c.IssuedAt != nil {
		issued = c.IssuedAt.Time
	}
	return tenants.AppToken{
		ID: c.ID, TenantID: c.Org, AppID: c.Subject, SessionID: c.Session, ReadOnly: c.ReadOnly,
		Capabilities: caps, FeatureFlags: c.FeatureFlags, IssuedAt: issued, ExpiresAt: c.ExpiresAt.Time,
	}, nil
}
