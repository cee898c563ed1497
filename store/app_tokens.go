package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// FindAppTokenRevocations returns the revocations that can still matter
// for an application's portal tokens, in one round trip.
func (s *Store) FindAppTokenRevocations(ctx context.Context, tenantID, appID string) (tenants.AppTokenRevocations, error) {
	now := s.Now()
	out := tenants.AppTokenRevocations{RevokedIDs: map[string]struct{}{}}
	var rows []struct {
		TokenID      *string
		SessionID    *string
		IssuedBefore *time.Time
		EffectiveAt  *time.Time
	}
	err := s.q(ctx).Raw(`
		SELECT token_id, NULL::text AS session_id, NULL::timestamptz AS issued_before, NULL::timestamptz AS effective_at
		  FROM revoked_app_tokens WHERE tenant_id = @tenant AND app_id = @app AND expires_at > @live
		UNION ALL
		SELECT NULL::text, session_id, issued_before, effective_at
		  FROM app_token_expiries WHERE tenant_id = @tenant AND app_id = @app AND issued_before > @issued`,
		map[string]any{"tenant": tenantID, "app": appID, "live": now.Add(-tenants.AppTokenPruneSlack),
			"issued": now.Add(-tenants.MaxAppTokenTTL - tenants.AppTokenPruneSlack)}).Scan(&rows).Error
	if err != nil {
		return out, fmt.Errorf("find app token revocations of %s: %w", appID, translate(err))
	}
	for _, r := range rows {
		if r.TokenID != nil {
			out.RevokedIDs[*r.TokenID] = struct{}{}
			continue
		}
		out.Expiries = append(out.Expiries, tenants.AppTokenExpiry{SessionID: r.SessionID, IssuedBefore: *r.IssuedBefore, EffectiveAt: *r.EffectiveAt})
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
		tenantID, s.Now().Add(-tenants.AppTokenPruneSlack)).Error
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
			tenantID, appID, tx.Now().Add(-tenants.MaxAppTokenTTL-tenants.AppTokenPruneSlack)).Error
		if err != nil {
			return fmt.Errorf("prune app token expiries: %w", translate(err))
		}
		return nil
	})
}
