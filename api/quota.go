package api

import "context"

// Quota is consulted before a message is accepted: a tenant over its plan's
// cap or behind on payment is refused (billing decides how, and caches
// the answer so the check costs no query per request).
type Quota interface {
	CheckSend(ctx context.Context, tenantID string) error
}
