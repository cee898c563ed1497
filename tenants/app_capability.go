package tenants

import (
	"fmt"
	"time"
)

// Capability is a set of app-portal permissions, named as Svix names them.
// A token always holds CapViewBase; the others unlock the routes the API
// lists for them (api.routeCapabilities).
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
// do. The portal's token signer fills ID, IssuedAt and ExpiresAt.
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
