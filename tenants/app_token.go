package tenants

import (
	"context"
	"fmt"
	"time"
)

// PrefixAppToken starts the id (JWT "jti") of an app-portal token.
const PrefixAppToken = "apptok_"

// MaxAppTokenTTL is the longest an app-portal token lives. Revocation rows
// older than that cover only expired tokens and are pruned.
const MaxAppTokenTTL = 7 * 24 * time.Hour

// pruneSlack keeps revocation rows a little past MaxAppTokenTTL, so that
// clock leeway in token checks never revives a token.
const pruneSlack = 5 * time.Minute

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

// FindAppTokenRevocations returns the revocations that can still matter
// for an application's tokens, in one round trip.
func (s *Store) FindAppTokenRevocations(ctx context.Context, tenantID, appID string) (AppTokenRevocations, error) {
	now := s.Now()
	out := AppTokenRevocations{RevokedIDs: map[string]struct{}{}}
	rows, err := s.pool.Query(ctx, `
		SELECT token_id, NULL::text, NULL::timestamptz, NULL::timestamptz
		  FROM revoked_app_tokens WHERE tenant_id = $1 AND app_id = $2 AND expires_at > $3
		UNION ALL
		SELECT NULL::text, session_id, issued_before, effective_at
		  FROM app_token_expiries WHERE tenant_id = $1 AND app_id = $2 AND issued_before > $4`,
		tenantID, appID, now.Add(-pruneSlack), now.Add(-MaxAppTokenTTL-pruneSlack))
	if err != nil {
		return out, fmt.Errorf("find app token revocations of %s: %w", appID, translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			tokenID, session        *string
			issuedBefore, effective *time.Time
		)
		if err := rows.Scan(&tokenID, &session, &issuedBefore, &effective); err != nil {
			return out, fmt.Errorf("scan app token revocation: %w", translate(err))
		}
		if tokenID != nil {
			out.RevokedIDs[*tokenID] = struct{}{}
			continue
		}
		out.Expiries = append(out.Expiries, AppTokenExpiry{SessionID: session, IssuedBefore: *issuedBefore, EffectiveAt: *effective})
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("find app token revocations of %s: %w", appID, translate(err))
	}
	return out, nil
}

// RevokeAppToken records that one token (logged out) is no longer valid;
// the row lives until the token would have expired. Revoking twice is not
// an error.
func (s *Store) RevokeAppToken(ctx context.Context, tenantID, appID, tokenID string, expiresAt time.Time) error {
	err := s.q(ctx).Exec(`INSERT INTO revoked_app_tokens (token_id, tenant_id, app_id, expires_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (token_id) DO NOTHING`, tokenID, tenantID, appID, expiresAt).Error
	if err != nil {
		return fmt.Errorf("revoke app token %s: %w", tokenID, translate(err))
	}
	// Forgetting rows of tokens that have expired anyway keeps the table
	// as small as the set of live, logged-out tokens.
	err = s.q(ctx).Exec(`DELETE FROM revoked_app_tokens WHERE tenant_id = ? AND expires_at < ?`,
		tenantID, s.Now().Add(-pruneSlack)).Error
	if err != nil {
		return fmt.Errorf("prune revoked app tokens: %w", translate(err))
	}
	return nil
}

// ExpireAppTokens refuses, from effectiveAt on, every token of the
// application issued before issuedBefore, or only those of the given
// sessions when sessionIDs is not empty.
func (s *Store) ExpireAppTokens(ctx context.Context, tenantID, appID string, sessionIDs []string, issuedBefore, effectiveAt time.Time) error {
	sessions := []*string{nil}
	if len(sessionIDs) > 0 {
		sessions = sessions[:0]
		for i := range sessionIDs {
			sessions = append(sessions, &sessionIDs[i])
		}
	}
	return s.InTx(ctx, func(tx *Store) error {
		for _, sid := range sessions {
			err := tx.q(ctx).Exec(`INSERT INTO app_token_expiries (tenant_id, app_id, session_id, issued_before, effective_at)
				VALUES (?, ?, ?, ?, ?)`, tenantID, appID, sid, issuedBefore, effectiveAt).Error
			if err != nil {
				return fmt.Errorf("expire app tokens of %s: %w", appID, translate(err))
			}
		}
		err := tx.q(ctx).Exec(`DELETE FROM app_token_expiries WHERE tenant_id = ? AND app_id = ? AND issued_before < ?`,
			tenantID, appID, s.Now().Add(-MaxAppTokenTTL-pruneSlack)).Error
		if err != nil {
			return fmt.Errorf("prune app token expiries: %w", translate(err))
		}
		return nil
	})
}
