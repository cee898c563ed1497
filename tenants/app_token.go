package tenants

import "time"

// PrefixAppToken starts the id (JWT "jti") of an app-portal token.
const PrefixAppToken = "apptok_"

// MaxAppTokenTTL is the longest an app-portal token lives. Revocation rows
// older than that cover only expired tokens and are pruned.
const MaxAppTokenTTL = 7 * 24 * time.Hour

// AppTokenPruneSlack keeps revocation rows a little past MaxAppTokenTTL, so that
// clock leeway in token checks never revives a token.
const AppTokenPruneSlack = 5 * time.Minute

// AppTokenExpiry is one "expire all" of an application's portal tokens:
// from EffectiveAt on, tokens issued before IssuedBefore are refused (only
// those of SessionID when it is set).
type AppTokenExpiry struct {
	SessionID    *string
	IssuedBefore time.Time
	EffectiveAt  time.Time
}

// AppTokenRevocations is the revocation state of one application's portal
// tokens: the ids of logged-out tokens and the expire-all rules.
type AppTokenRevocations struct {
	RevokedIDs map[string]struct{}
	Expiries   []AppTokenExpiry
}

// Revokes reports whether a token (its id, session and issue instant) is
// revoked at instant now.
func (r AppTokenRevocations) Revokes(tokenID, sessionID string, issuedAt, now time.Time) bool {
	if _, ok := r.RevokedIDs[tokenID]; ok {
		return true
	}
	for _, e := range r.Expiries {
		if e.SessionID != nil && *e.SessionID != sessionID {
			continue
		}
		if issuedAt.Before(e.IssuedBefore) && !now.Before(e.EffectiveAt) {
			return true
		}
	}
	return false
}
