package console

import (
	"context"
	"time"

	"github.com/hookline/hookline/tenants"
)

// MintLink stores a one-time console link for tenantID, valid for ttl
// (zero means DefaultLinkTTL), and returns it under publicURL. The
// `hookline console-link` command and the operator API both use it. An
// unknown tenant is ErrNotFound, a suspended one ErrForbidden.
func MintLink(ctx context.Context, store interface {
	CreateConsoleToken(ctx context.Context, tenantID, kind string, ttl time.Duration) (tenants.ConsoleToken, string, error)
}, publicURL, tenantID string, ttl time.Duration) (Link, error) {
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	ct, token, err := store.CreateConsoleToken(ctx, tenantID, tenants.ConsoleLink, ttl)
	if err != nil {
		return Link{}, err
	}
	return Link{URL: publicURL + "/console/#link=" + token, Token: token, ExpiresAt: ct.ExpiresAt.UTC()}, nil
}
