package tenants

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// APIKeyPrefix starts every tenant API key.
const APIKeyPrefix = "sk_"

// apiKeyVisible is how many characters of a key (prefix included) are kept
// in clear so an operator can tell keys apart.
const apiKeyVisible = 11

// APIKey is a tenant credential. Only the SHA-256 of the key is stored; the
// key itself is shown once, at creation.
type APIKey struct {
	ID         string
	TenantID   string
	Name       string
	Prefix     string // the first characters of the key, for display
	Hash       []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// NewAPIKeySecret returns a new key: "sk_" and the unpadded base64url of 32
// random bytes.
func NewAPIKeySecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("tenants: crypto/rand failed: " + err.Error())
	}
	return APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashAPIKey returns the stored form of a key. A plain SHA-256 is right
// here: the key has 256 bits of entropy, so there is nothing to stretch.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// LooksLikeAPIKey reports whether a bearer token is an API key rather than
// a JWT.
func LooksLikeAPIKey(token string) bool {
	return strings.HasPrefix(token, APIKeyPrefix)
}

// APIKeyDisplayPrefix is the part of a key kept in clear, so that an
// operator can tell keys apart.
func APIKeyDisplayPrefix(key string) string {
	if len(key) <= apiKeyVisible {
		return key
	}
	return key[:apiKeyVisible]
}
