package tenants

import (
	"crypto/rand"
	"encoding/base64"
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
	PrefixConsoleToken   = "ctok_"
)

// ConsoleToken is a stored console link or session (its hash only).
type ConsoleToken struct {
	ID        string
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

// NewConsoleSecret returns a fresh console token of kind (ConsoleLink or
// ConsoleSession): its prefix and the base64url of 32 random bytes.
func NewConsoleSecret(kind string) string {
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
