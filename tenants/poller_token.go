package tenants

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"
)

// Poller tokens (Svix's GET …/auth/app/{app}/poller/{sink}/token): a
// bearer token that may read one polling endpoint and do nothing else, so
// that a customer's poller never holds a credential of the application.
const (
	// PollerTokenPrefix starts every poller token: the authenticator tells
	// them from API keys, console sessions and JWTs by it.
	PollerTokenPrefix = "hlpt_"
	// PrefixPollerToken starts a poller token's id.
	PrefixPollerToken = "ptok_"
	// DefaultOldPollerTokenExpiry is how long a rotated-out token still
	// works unless the rotation says otherwise (Svix's default).
	DefaultOldPollerTokenExpiry = 5 * time.Minute
	// MaxPollerTokenExpiry and MaxOldPollerTokenExpiry are Svix's bounds
	// of a rotation's expiry and oldTokenExpiry.
	MaxPollerTokenExpiry    = 365 * 24 * time.Hour
	MaxOldPollerTokenExpiry = 24 * time.Hour
)

// PollerToken is a poller token as the API shows it to the tenant (Token
// is the secret itself) and as the authenticator checks it (without it).
type PollerToken struct {
	ID            string
	TenantID      string
	AppID         string
	DestinationID string
	Token         string
	CreatedAt     time.Time
	ExpiresAt     *time.Time // nil: never
}

// LiveAt reports whether the token is still valid at now.
func (t PollerToken) LiveAt(now time.Time) bool {
	return t.ExpiresAt == nil || now.Before(*t.ExpiresAt)
}

// LooksLikePollerToken reports whether token has a poller token's prefix.
func LooksLikePollerToken(token string) bool { return strings.HasPrefix(token, PollerTokenPrefix) }

// NewPollerTokenSecret returns a fresh poller token: its prefix and the
// base64url of 32 random bytes.
func NewPollerTokenSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("tenants: crypto/rand failed: " + err.Error())
	}
	return PollerTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}
