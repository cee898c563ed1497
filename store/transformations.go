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

// Endpoint and destination transformations (endpoint_transformations,
// destination_transformations, pgx): the code, its switch, and its
// variables sealed like secrets, with the owner's id in the associated
// data so a sealed value copied to another endpoint or destination does
// not open. Every change bumps the endpoint's revision: the workers'
// cached sending configuration (LoadEndpointConfig) includes the
// transformation and reloads on the next attempt.

// sealedVariablesAD is the associated data of an endpoint's or a
// destination's sealed transformation variables (their ids' prefixes
// differ, so one's never opens as the other's).
func sealedVariablesAD(ownerID string) []byte { return []byte("transformation:" + ownerID) }

// FindDestinationTransformation returns the transformation of the live
// destination ref (an id or uid) of application appID: the zero
// Transformation when none was ever set, ErrNotFound without the
// destination.
func (s *Store) FindDestinationTransformation(ctx context.Context, tenantID, appID, ref string) (tenants.Transformation, error) {
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.Transformation{}, err
	}
	return s.readTransformation(ctx, destinationTransformations, tenantID, d.ID, false)
}

// PatchDestinationTransformation applies p to the transformation of
// destination ref and returns the result. The caller has checked the code
// compiles. The senders read it when they next take the destination.
func (s *Store) PatchDestinationTransformation(ctx context.Context, tenantID, appID, ref string, p tenants.TransformationPatch) (tenants.Transformation, error) {
	var out tenants.Transformation
	err := s.InTx(ctx, func(tx *Store) error {
		d, err := tx.FindDestination(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		out, err = tx.patchTransformation(ctx, destinationTransformations, tenantID, d.ID, p)
		return err
	})
	return out, err
}

// SenderTransformation returns destination id's transformation for its
// sender (the zero Transformation when none was set).
func (s *Store) SenderTransformation(ctx context.Context, tenantID, id string) (tenants.Transformation, error) {
	return s.readTransformation(ctx, destinationTransformations, tenantID, id, false)
}

// FindTransformation returns the transformation of the live endpoint ref
// (an id or uid) of application appID: the zero Transformation (no code,
// disabled) when none was ever set, ErrNotFound without the endpoint.
func (s *Store) FindTransformation(ctx context.Context, tenantID, appID, ref string) (tenants.Transformation, error) {
	ep, err := s.FindEndpoint(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.Transformation{}, err
	}
	return s.readTransformation(ctx, endpointTransformations, tenantID, ep.ID, false)
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
		if out, err = tx.patchTransformation(ctx, endpointTransformations, tenantID, ep.ID, p); err != nil {
			return err
		}
		if _, err := tx.pg.Exec(ctx, `UPDATE endpoints SET revision = revision + 1 WHERE tenant_id = $1 AND id = $2`, tenantID, ep.ID); err != nil {
			return fmt.Errorf("bump endpoint %s revision: %w", ep.ID, translate(err))
		}
		return nil
	})
	return out, err
}

// transformationTable names where one kind of owner keeps its
// transformations: endpoints and destinations have the same columns in
// tables of their own (each with its foreign key).
type transformationTable struct{ table, key string }

var (
	endpointTransformations    = transformationTable{"endpoint_transformations", "endpoint_id"}
	destinationTransformations = transformationTable{"destination_transformations", "destination_id"}
)

// patchTransformation applies p to ownerID's transformation in t, inside
// the caller's transaction, and returns the result.
func (s *Store) patchTransformation(ctx context.Context, t transformationTable, tenantID, ownerID string, p tenants.TransformationPatch) (tenants.Transformation, error) {
	cur, err := s.readTransformation(ctx, t, tenantID, ownerID, true)
	if err != nil {
		return cur, err
	}
	cur.Apply(p)
	if err := tenants.ValidateTransformationVariables(cur.Variables); err != nil {
		return cur, err
	}
	var sealed []byte
	if len(cur.Variables) > 0 {
		if s.cipher == nil {
			return cur, errors.New("transformation variables need the encryption key")
		}
		b, err := json.Marshal(cur.Variables)
		if err != nil {
			return cur, err
		}
		sealed = s.cipher.Seal(b, sealedVariablesAD(ownerID))
	}
	now := s.Now()
	if _, err := s.pg.Exec(ctx, `INSERT INTO `+t.table+` (`+t.key+`, tenant_id, code, enabled, sealed_variables, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (`+t.key+`) DO UPDATE SET code = $3, enabled = $4, sealed_variables = $5, updated_at = $6`,
		ownerID, tenantID, cur.Code, cur.Enabled, sealed, now); err != nil {
		return cur, fmt.Errorf("write transformation of %s: %w", ownerID, translate(err))
	}
	cur.UpdatedAt = &now
	return cur, nil
}

// readTransformation reads ownerID's transformation in t, its variables
// opened (lock: FOR UPDATE, inside a transaction).
func (s *Store) readTransformation(ctx context.Context, t transformationTable, tenantID, ownerID string, lock bool) (tenants.Transformation, error) {
	q := `SELECT code, enabled, sealed_variables, updated_at FROM ` + t.table + ` WHERE tenant_id = $1 AND ` + t.key + ` = $2`
	if lock {
		q += ` FOR UPDATE`
	}
	var (
		code    *string
		enabled bool
		sealed  []byte
		updated time.Time
	)
	err := s.pg.QueryRow(ctx, q, tenantID, ownerID).Scan(&code, &enabled, &sealed, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenants.Transformation{EndpointID: ownerID}, nil
	}
	if err != nil {
		return tenants.Transformation{}, fmt.Errorf("read transformation of %s: %w", ownerID, translate(err))
	}
	return s.openTransformation(ownerID, code, enabled, sealed, &updated)
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
