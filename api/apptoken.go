package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/tenants"
)

// Capability is a set of app-portal permissions, named as Svix names them.
// A token always holds CapViewBase; the others unlock the routes listed in
// routeCapabilities.
type Capability uint8

// The app-portal capabilities.
const (
	// CapViewBase reads the application's endpoints, messages, attempts and
	// the event catalog, but not endpoint secrets.
	CapViewBase Capability = 1 << iota
	// CapViewEndpointSecret reads endpoint signing secrets.
	CapViewEndpointSecret
	// CapManageEndpointSecret reads and rotates endpoint signing secrets.
	CapManageEndpointSecret
	// CapManageTransformations is accepted for Svix compatibility; Hookline
	// has no transformations, so it unlocks nothing.
	CapManageTransformations
	// CapCreateAttempts resends messages, recovers and replays, and sends
	// example events.
	CapCreateAttempts
	// CapManageEndpoint creates, changes and deletes endpoints (including
	// their headers and secrets).
	CapManageEndpoint

	// AllCapabilities is what a token gets when none are asked for.
	AllCapabilities = CapViewBase | CapViewEndpointSecret | CapManageEndpointSecret |
		CapManageTransformations | CapCreateAttempts | CapManageEndpoint
)

var capabilityNames = []struct {
	c    Capability
	name string
}{
	{CapViewBase, "ViewBase"},
	{CapViewEndpointSecret, "ViewEndpointSecret"},
	{CapManageEndpointSecret, "ManageEndpointSecret"},
	{CapManageTransformations, "ManageTransformations"},
	{CapCreateAttempts, "CreateAttempts"},
	{CapManageEndpoint, "ManageEndpoint"},
}

// ParseCapabilities reads Svix capability names. An empty list means all
// of them; CapViewBase is always included (Svix requires it). An unknown
// name is an error naming it.
func ParseCapabilities(names []string) (Capability, error) {
	if len(names) == 0 {
		return AllCapabilities, nil
	}
	c := CapViewBase
	for _, n := range names {
		found := false
		for _, cn := range capabilityNames {
			if cn.name == n {
				c |= cn.c
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
	}
	return c, nil
}

// Names returns the Svix names of the capabilities in c.
func (c Capability) Names() []string {
	out := []string{}
	for _, cn := range capabilityNames {
		if c&cn.c != 0 {
			out = append(out, cn.name)
		}
	}
	return out
}

// AppToken describes an app-portal token: who it acts for and what it may
// do. Tokens.AppToken fills ID, IssuedAt and ExpiresAt.
type AppToken struct {
	// ID is the token's "jti", by which logout revokes it.
	ID        string
	TenantID  string
	AppID     string
	SessionID string
	ReadOnly  bool
	// Capabilities; zero means all.
	Capabilities Capability
	FeatureFlags []string
	IssuedAt     time.Time
	ExpiresAt    time.Time
}

func (t AppToken) principal() Principal {
	return Principal{
		TenantID: t.TenantID, AppID: t.AppID, ReadOnly: t.ReadOnly,
		SessionID: t.SessionID, TokenID: t.ID, Capabilities: t.Capabilities,
	}
}

// appClaims is the app-portal JWT: Svix's "sub" (the app) and "org" (the
// tenant), plus what Hookline needs to revoke and limit it. iat_us carries
// the issue instant in microseconds, because "expire all, then mint a new
// link" happens within one second and "iat" counts whole seconds.
type appClaims struct {
	jwt.RegisteredClaims
	Org          string   `json:"org"`
	Session      string   `json:"sid,omitempty"`
	ReadOnly     bool     `json:"read_only,omitempty"`
	Capabilities []string `json:"capabilities"`
	FeatureFlags []string `json:"feature_flags,omitempty"`
	IssuedMicros int64    `json:"iat_us"`
}

// AppToken signs an app-portal token for spec, valid for ttl from now, and
// returns it with the completed spec. It is signed with the derived
// app-portal key and carries the app-portal audience, so it is never
// accepted as a tenant token.
func (t *Tokens) AppToken(spec AppToken, ttl time.Duration) (string, AppToken, error) {
	now := t.now()
	if spec.Capabilities == 0 {
		spec.Capabilities = AllCapabilities
	}
	spec.Capabilities |= CapViewBase
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
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.appKey)
	if err != nil {
		return "", AppToken{}, fmt.Errorf("sign app token: %w", err)
	}
	return s, spec, nil
}

// ParseAppToken verifies an app-portal token (signature, HS256 only,
// audience, issuer, exp and nbf) and returns what it grants. Any failure
// wraps errBadToken. It does not consult revocations: that is
// appTokenChecker's job.
func (t *Tokens) ParseAppToken(s string) (AppToken, error) {
	var c appClaims
	_, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return t.appKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithLeeway(clockLeeway), jwt.WithTimeFunc(t.now),
		jwt.WithExpirationRequired(), jwt.WithAudience(appAudience), jwt.WithIssuer(tokenIssuer))
	if err != nil {
		return AppToken{}, fmt.Errorf("%w: %w", errBadToken, err)
	}
	if !strings.HasPrefix(c.Subject, tenants.PrefixApplication) || !strings.HasPrefix(c.Org, tenants.PrefixTenant) ||
		!strings.HasPrefix(c.ID, tenants.PrefixAppToken) {
		return AppToken{}, fmt.Errorf("%w: not an app-portal token", errBadToken)
	}
	caps, err := ParseCapabilities(c.Capabilities)
	if err != nil {
		return AppToken{}, fmt.Errorf("%w: %w", errBadToken, err)
	}
	issued := time.UnixMicro(c.IssuedMicros)
	if c.IssuedMicros == 0 && c.IssuedAt != nil {
		issued = c.IssuedAt.Time
	}
	return AppToken{
		ID: c.ID, TenantID: c.Org, AppID: c.Subject, SessionID: c.Session, ReadOnly: c.ReadOnly,
		Capabilities: caps, FeatureFlags: c.FeatureFlags, IssuedAt: issued, ExpiresAt: c.ExpiresAt.Time,
	}, nil
}

// routeCapabilities names the capabilities (any one of them suffices) an
// app-portal token needs on the app-scoped routes beyond CapViewBase. The
// keys are route-table entries; TestRouteCapabilities checks they exist.
var routeCapabilities = map[string]Capability{
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/secret":              CapViewEndpointSecret | CapManageEndpointSecret | CapManageEndpoint,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/secret/rotate":      CapManageEndpointSecret | CapManageEndpoint,
	"POST /api/v1/app/:app_id/endpoint":                                 CapManageEndpoint,
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id":                     CapManageEndpoint,
	"PATCH /api/v1/app/:app_id/endpoint/:endpoint_id":                   CapManageEndpoint,
	"DELETE /api/v1/app/:app_id/endpoint/:endpoint_id":                  CapManageEndpoint,
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/headers":             CapManageEndpoint,
	"PATCH /api/v1/app/:app_id/endpoint/:endpoint_id/headers":           CapManageEndpoint,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/recover":            CapCreateAttempts,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/replay-missing":     CapCreateAttempts,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/send-example":       CapCreateAttempts,
	"POST /api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend": CapCreateAttempts,
}

// checkCapability refuses (403) an app-portal token that lacks the
// capability a route needs. Tenant credentials are never limited here.
func checkCapability(p Principal, r route) error {
	if p.AppID == "" {
		return nil
	}
	need, ok := routeCapabilities[r.method+" "+r.path]
	if !ok {
		need = CapViewBase
	}
	if p.Capabilities&need == 0 {
		return errForbidden("this portal link does not allow this action")
	}
	return nil
}
