package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// Endpoint transformations (endpoint_transformations, pgx): the code, its
// switch, and its variables sealed like secrets, with the endpoint's id
// in the associated data so a sealed value copied to another endpoint
// does not open. Every change bumps the endpoint's revision: the workers'
// cached sending configuration (LoadEndpointConfig) includes the
// transformation and reloads on the next attempt.

// sealedVariablesAD is the associated data of an endpoint's sealed
// transformation variables.
func sealedVariablesAD(endpointID string) []byte { return []byte("transformation:" + endpointID) }

// FindTransformation returns the transformation of the live endpoint ref
// (an id or uid) of application appID: the zero Transformation (no code,
// disabled) when none was ever set, ErrNotFound without the endpoint.
func (s *Store) FindTransformation(ctx context.Context, tenantID, appID, ref string) (tenants.Transformation, error) {
	ep, err := s.FindEndpoint(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.Transformation{}, err
	}
	return s.readTransformation(ctx, tenantID, ep.ID, false)
}

// PatchTransformation applies p to the transformation of endpoint ref and
// returns the result. The caller has checked the code compiles; the
// variables are checked here.
func (s *Store) PatchTransformation(ctx context.Context, tenantID, appID, ref string, p tenants.TransformationPatch) (tenants.Transformation, error) {
	var out tenants.Transformation
	err := s.InTx(ctx, func(tx *Store) error {
		ep, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		cur, err := tx.readTransformation(ctx, tenantID, ep.ID, true)
		if err != nil {
			return err
		}
		cur.Apply(p)
		if err := tenants.ValidateTransformationVariables(cur.Variables); err != nil {
			return err
		}
		var sealed []byte
		if len(cur.Variables) > 0 {
			if tx.cipher == nil {
				return errors.New("transformation variables need the encryption key")
			}
			b, err := json.Marshal(cur.Variables)
			if err != nil {
				return err
			}
			sealed = tx.cipher.Seal(b, sealedVariablesAD(ep.ID))
		}
		now := tx.Now()
		if _, err := tx.pg.Exec(ctx, `INSERT INTO endpoint_transformations (endpoint_id, tenant_id, code, enabled, sealed_variables, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (endpoint_id) DO UPDATE SET code = $3, enabled = $4, sealed_variables = $5, updated_at = $6`,
			ep.ID, tenantID, cur.Code, cur.Enabled, sealed, now); err != nil {
			return fmt.Errorf("write transformation of %s: %w", ep.ID, translate(err))
		}
		if _, err := tx.pg.Exec(ctx, `UPDATE endpoints SET revision = revision + 1 WHERE tenant_id = $1 AND id = $2`, tenantID, ep.ID); err != nil {
			return fmt.Errorf("bump endpoint %s revision: %w", ep.ID, translate(err))
		}
		cur.UpdatedAt = &now
		out = cur
		return nil
	})
	return out, err
}

// readTransformation reads endpointID's transformation, its variables
// opened (lock: FOR UPDATE, inside a transaction).
func (s *Store) readTransformation(ctx context.Context, tenantID, endpointID string, lock bool) (tenants.Transformation, error) {
	q := `SELECT code, enabled, sealed_variables, updated_at FROM endpoint_transformations WHERE tenant_id = $1 AND endpoint_id = $2`
	if lock {
		q += ` FOR UPDATE`
	}
	var (
		code    *string
		enabled bool
		sealed  []byte
		updated time.Time
	)
	err := s.pg.QueryRow(ctx, q, tenantID, endpointID).Scan(&code, &enabled, &sealed, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenants.Transformation{EndpointID: endpointID}, nil
	}
	if err != nil {
		return tenants.Transformation{}, fmt.Errorf("read transformation of %s: %w", endpointID, translate(err))
	}
	return s.openTransformation(endpointID, code, enabled, sealed, &updated)
}

// openTransformation builds endpointID's transformation from its row,
// unsealing the variables; updated nil means there is no row.
func (s *Store) openTransformation(endpointID string, code *string, enabled bool, sealed []byte, updated *time.Time) (tenants.Transformation, error) {
	t := tenants.Transformation{EndpointID: endpointID}
	if updated == nil {
		return t, nil
	}
	t.Code, t.Enabled, t.UpdatedAt = code, enabled, updated
	if len(sealed) > 0 {
		if s.cipher == nil {
			return tenants.Transformation{}, errors.New("transformation variables need the encryption key")
		}
		b, err := s.cipher.Open(sealed, sealedVariablesAD(endpointID))
		if err != nil {
			return tenants.Transformation{}, fmt.Errorf("transformation variables of %s: %w", endpointID, err)
		}
		if err := json.Unmarshal(b, &t.Variables); err != nil {
			return tenants.Transformation{}, fmt.Errorf("transformation variables of %s: %w", endpointID, err)
		}
	}
	return t, nil
}
