package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// An endpoint's mTLS identity, server CA and OAuth2 client (issue 23), in
// table endpoint_security: one row per endpoint that has any. The
// identity and the OAuth2 client are sealed with the endpoint id and the
// column's name as associated data, so neither can be copied onto another
// endpoint or into the other column. Every change bumps the endpoint's
// revision, which makes every worker reload its configuration.

// securityAD is the associated data of a sealed column of endpointID.
func securityAD(endpointID, column string) []byte { return []byte(endpointID + "/" + column) }

// changeSecurity runs set (an UPSERT or UPDATE of endpoint ref's row) and
// bumps the endpoint's revision, in one transaction.
func (s *Store) changeSecurity(ctx context.Context, tenantID, appID, ref string, set func(tx *Store, e tenants.Endpoint) error) error {
	return s.InTx(ctx, func(tx *Store) error {
		e, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		if err := set(tx, e); err != nil {
			return err
		}
		_, err = tx.saveEndpoint(ctx, e)
		return err
	})
}

// upsertSecurity sets columns of e's row to values (SQL, with ? for
// args), creating the row if needed.
func (s *Store) upsertSecurity(ctx context.Context, e tenants.Endpoint, columns, values []string, args ...any) error {
	ex := make([]string, len(columns))
	for i, c := range columns {
		ex[i] = "EXCLUDED." + c
	}
	q := `INSERT INTO endpoint_security (endpoint_id, tenant_id, ` + strings.Join(columns, ", ") + `, updated_at)
		VALUES (?, ?, ` + strings.Join(values, ", ") + `, ?)
		ON CONFLICT (endpoint_id) DO UPDATE SET (` + strings.Join(columns, ", ") + `, updated_at) = (` + strings.Join(ex, ", ") + `, EXCLUDED.updated_at)`
	all := append([]any{e.ID, e.TenantID}, args...)
	all = append(all, s.Now())
	if err := s.q(ctx).Exec(q, all...).Error; err != nil {
		return fmt.Errorf("store security of %s: %w", e.ID, translate(err))
	}
	return nil
}

// SetEndpointMTLS stores id as endpoint ref's mTLS client identity,
// replacing any other; a warning about the previous one's expiry is
// forgotten.
func (s *Store) SetEndpointMTLS(ctx context.Context, tenantID, appID, ref string, id tenants.ClientIdentity) error {
	return s.changeSecurity(ctx, tenantID, appID, ref, func(tx *Store, e tenants.Endpoint) error {
		sealed := tx.cipher.Seal(id.PEM, securityAD(e.ID, "mtls"))
		return tx.upsertSecurity(ctx, e, []string{"mtls_sealed", "mtls_subject", "mtls_issuer", "mtls_sha256", "mtls_not_after", "mtls_warned_at"},
			[]string{"?", "?", "?", "?", "?", "NULL"}, sealed, id.Info.Subject, id.Info.Issuer, id.Info.SHA256, id.Info.NotAfter)
	})
}

// DeleteEndpointMTLS removes endpoint ref's client identity (none is
// fine).
func (s *Store) DeleteEndpointMTLS(ctx context.Context, tenantID, appID, ref string) error {
	return s.changeSecurity(ctx, tenantID, appID, ref, func(tx *Store, e tenants.Endpoint) error {
		err := tx.q(ctx).Exec(`UPDATE endpoint_security SET mtls_sealed = NULL, mtls_subject = NULL, mtls_issuer = NULL,
			mtls_sha256 = NULL, mtls_not_after = NULL, mtls_warned_at = NULL, updated_at = ? WHERE endpoint_id = ?`, tx.Now(), e.ID).Error
		if err != nil {
			return fmt.Errorf("delete mtls of %s: %w", e.ID, translate(err))
		}
		return nil
	})
}

// SetEndpointServerCA makes bundle (PEM certificates, described by info)
// the CA endpoint ref's certificate is verified against; nil goes back to
// the system pool.
func (s *Store) SetEndpointServerCA(ctx context.Context, tenantID, appID, ref string, bundle *string, info tenants.CertInfo) error {
	cols := []string{"server_ca", "ca_subject", "ca_not_after", "ca_warned_at"}
	return s.changeSecurity(ctx, tenantID, appID, ref, func(tx *Store, e tenants.Endpoint) error {
		if bundle == nil {
			return tx.upsertSecurity(ctx, e, cols, []string{"NULL", "NULL", "NULL::timestamptz", "NULL::timestamptz"})
		}
		return tx.upsertSecurity(ctx, e, cols, []string{"?", "?", "?", "NULL::timestamptz"}, *bundle, info.Subject, info.NotAfter)
	})
}

// SetEndpointOAuth stores c (sealed whole) as endpoint ref's OAuth2
// client.
func (s *Store) SetEndpointOAuth(ctx context.Context, tenantID, appID, ref string, c tenants.OAuthConfig) error {
	b, err := json.Marshal(oauthRow(c))
	if err != nil {
		return fmt.Errorf("encode oauth config: %w", err)
	}
	return s.changeSecurity(ctx, tenantID, appID, ref, func(tx *Store, e tenants.Endpoint) error {
		return tx.upsertSecurity(ctx, e, []string{"oauth_sealed"}, []string{"?"}, tx.cipher.Seal(b, securityAD(e.ID, "oauth")))
	})
}

// DeleteEndpointOAuth removes endpoint ref's OAuth2 client (none is fine).
func (s *Store) DeleteEndpointOAuth(ctx context.Context, tenantID, appID, ref string) error {
	return s.changeSecurity(ctx, tenantID, appID, ref, func(tx *Store, e tenants.Endpoint) error {
		err := tx.q(ctx).Exec(`UPDATE endpoint_security SET oauth_sealed = NULL, updated_at = ? WHERE endpoint_id = ?`, tx.Now(), e.ID).Error
		if err != nil {
			return fmt.Errorf("delete oauth of %s: %w", e.ID, translate(err))
		}
		return nil
	})
}

// oauthRow is the sealed JSON of an OAuth2 client (tenants.OAuthConfig
// carries no tags).
type oauthRow struct {
	GrantType    string            `json:"grantType"`
	AuthMethod   string            `json:"authMethod"`
	ClientID     string            `json:"clientId"`
	ClientSecret string            `json:"clientSecret,omitempty"`
	TokenURL     string            `json:"tokenUrl"`
	Scopes       []string          `json:"scopes,omitempty"`
	ExtraParams  map[string]string `json:"extraParams,omitempty"`
	RefreshToken string            `json:"refreshToken,omitempty"`
	ExtraHeaders map[string]string `json:"extraHeaders,omitempty"`
}

// FindEndpointSecurity returns what may be shown of endpoint ref's
// security settings: no key, no OAuth2 secret.
func (s *Store) FindEndpointSecurity(ctx context.Context, tenantID, appID, ref string) (tenants.EndpointSecurityInfo, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.EndpointSecurityInfo{}, err
	}
	var (
		out                  tenants.EndpointSecurityInfo
		hasMTLS              bool
		subject, issuer, sha *string
		notAfter             *time.Time
		oauthSealed          []byte
	)
	err = s.pg.QueryRow(ctx, `SELECT mtls_sealed IS NOT NULL, mtls_subject, mtls_issuer, mtls_sha256, mtls_not_after, server_ca, oauth_sealed
		FROM endpoint_security WHERE endpoint_id = $1 AND tenant_id = $2`, e.ID, tenantID).
		Scan(&hasMTLS, &subject, &issuer, &sha, &notAfter, &out.ServerCA, &oauthSealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("find security of %s: %w", e.ID, translate(err))
	}
	if hasMTLS {
		out.ClientIdentity = &tenants.CertInfo{Subject: deref(subject), Issuer: deref(issuer), SHA256: deref(sha)}
		if notAfter != nil {
			out.ClientIdentity.NotAfter = notAfter.UTC()
		}
	}
	if oauthSealed != nil {
		c, err := s.openOAuth(e.ID, oauthSealed)
		if err != nil {
			return out, err
		}
		c.ClientSecret, c.RefreshToken = "", ""
		out.OAuth = &c
	}
	return out, nil
}

func (s *Store) openOAuth(endpointID string, sealed []byte) (tenants.OAuthConfig, error) {
	plain, err := s.cipher.Open(sealed, securityAD(endpointID, "oauth"))
	if err != nil {
		return tenants.OAuthConfig{}, fmt.Errorf("oauth of %s: %w", endpointID, err)
	}
	var r oauthRow
	if err := json.Unmarshal(plain, &r); err != nil {
		return tenants.OAuthConfig{}, fmt.Errorf("oauth of %s: %w", endpointID, err)
	}
	return tenants.OAuthConfig(r), nil
}

// openEndpointSecurity unseals endpointID's security settings as read
// from its endpoint_security row (all nil: none), for LoadEndpointConfig,
// which joins the row into its one statement.
func (s *Store) openEndpointSecurity(endpointID string, mtls []byte, ca *string, oauth []byte) (tenants.EndpointSecurity, error) {
	var out tenants.EndpointSecurity
	if mtls != nil {
		var err error
		if out.ClientIdentity, err = s.cipher.Open(mtls, securityAD(endpointID, "mtls")); err != nil {
			return out, fmt.Errorf("mtls identity of %s: %w", endpointID, err)
		}
	}
	if ca != nil {
		out.ServerCA = []byte(*ca)
	}
	if oauth != nil {
		c, err := s.openOAuth(endpointID, oauth)
		if err != nil {
			return out, err
		}
		out.OAuth = &c
	}
	return out, nil
}

// FindExpiringCerts returns up to limit client identities and server CAs,
// of every tenant's live endpoints, that expire before before and were not
// warned about yet, soonest first.
func (s *Store) FindExpiringCerts(ctx context.Context, before time.Time, limit int) ([]tenants.ExpiringCert, error) {
	rows, err := s.pg.Query(ctx, `(SELECT e.tenant_id, e.app_id, e.id, 'clientIdentity', k.mtls_subject, k.mtls_not_after
			FROM endpoint_security k JOIN endpoints e ON e.id = k.endpoint_id
			WHERE k.mtls_sealed IS NOT NULL AND k.mtls_warned_at IS NULL AND k.mtls_not_after < $1 AND e.deleted_at IS NULL)
		UNION ALL
		(SELECT e.tenant_id, e.app_id, e.id, 'serverCa', k.ca_subject, k.ca_not_after
			FROM endpoint_security k JOIN endpoints e ON e.id = k.endpoint_id
			WHERE k.server_ca IS NOT NULL AND k.ca_warned_at IS NULL AND k.ca_not_after < $1 AND e.deleted_at IS NULL)
		ORDER BY 6 LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("find expiring certificates: %w", translate(err))
	}
	defer rows.Close()
	var out []tenants.ExpiringCert
	for rows.Next() {
		var (
			c       tenants.ExpiringCert
			subject *string
		)
		if err := rows.Scan(&c.TenantID, &c.AppID, &c.EndpointID, &c.Kind, &subject, &c.Info.NotAfter); err != nil {
			return nil, fmt.Errorf("scan expiring certificate: %w", err)
		}
		c.Info.Subject = deref(subject)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find expiring certificates: %w", translate(err))
	}
	return out, nil
}

// MarkCertWarned records that c's expiry was announced, unless the
// certificate was replaced meanwhile (its expiry differs).
func (s *Store) MarkCertWarned(ctx context.Context, c tenants.ExpiringCert) error {
	col, at := "mtls_warned_at", "mtls_not_after"
	if c.Kind == tenants.CertServerCA {
		col, at = "ca_warned_at", "ca_not_after"
	}
	_, err := s.pg.Exec(ctx, `UPDATE endpoint_security SET `+col+` = $1 WHERE endpoint_id = $2 AND tenant_id = $3 AND `+at+` = $4`,
		s.Now(), c.EndpointID, c.TenantID, c.Info.NotAfter)
	if err != nil {
		return fmt.Errorf("mark certificate of %s warned: %w", c.EndpointID, translate(err))
	}
	return nil
}
