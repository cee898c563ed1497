package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hookline/hookline/tenants"
)

// Sensitive custom headers (tenants.IsSensitiveHeader) are stored sealed,
// like signing secrets: endpoints.headers keeps the others in the clear,
// endpoints.sealed_headers a JSON object of the sensitive ones sealed with
// the endpoint's id as associated data (a sealed value copied to another
// endpoint does not open).

// sealedHeadersAD is the associated data of an endpoint's sealed headers.
func sealedHeadersAD(endpointID string) []byte { return []byte("headers:" + endpointID) }

// splitHeaders returns h's headers to store in the clear and its sensitive
// ones sealed (nil when there are none).
func (s *Store) splitHeaders(endpointID string, h map[string]string) (map[string]string, []byte, error) {
	plain, secret := map[string]string{}, map[string]string{}
	for k, v := range h {
		if tenants.IsSensitiveHeader(k) {
			secret[k] = v
		} else {
			plain[k] = v
		}
	}
	if len(secret) == 0 {
		return plain, nil, nil
	}
	if s.cipher == nil {
		return nil, nil, errors.New("sensitive headers need the encryption key")
	}
	b, err := json.Marshal(secret)
	if err != nil {
		return nil, nil, err
	}
	return plain, s.cipher.Seal(b, sealedHeadersAD(endpointID)), nil
}

// openHeaders adds the sealed headers of endpoint endpointID to h.
func (s *Store) openHeaders(endpointID string, sealed []byte, h map[string]string) (map[string]string, error) {
	if len(sealed) == 0 {
		return h, nil
	}
	if s.cipher == nil {
		return nil, errors.New("sealed headers need the encryption key")
	}
	b, err := s.cipher.Open(sealed, sealedHeadersAD(endpointID))
	if err != nil {
		return nil, fmt.Errorf("endpoint %s sealed headers: %w", endpointID, err)
	}
	var secret map[string]string
	if err := json.Unmarshal(b, &secret); err != nil {
		return nil, fmt.Errorf("endpoint %s sealed headers: %w", endpointID, err)
	}
	if h == nil {
		h = make(map[string]string, len(secret))
	}
	for k, v := range secret {
		h[k] = v
	}
	return h, nil
}

// writeHeaders stores endpoint endpointID's custom headers, the sensitive
// ones sealed, in both columns (for SealPlaintextHeaders).
func (s *Store) writeHeaders(ctx context.Context, endpointID string, h map[string]string) error {
	plain, sealed, err := s.splitHeaders(endpointID, h)
	if err != nil {
		return err
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return err
	}
	if _, err := s.pg.Exec(ctx, `UPDATE endpoints SET headers = $2, sealed_headers = $3 WHERE id = $1`, endpointID, b, sealed); err != nil {
		return fmt.Errorf("write endpoint %s headers: %w", endpointID, translate(err))
	}
	return nil
}

// writeSealedHeaders stores endpoint endpointID's sealed headers (nil:
// none).
func (s *Store) writeSealedHeaders(ctx context.Context, endpointID string, sealed []byte) error {
	if _, err := s.pg.Exec(ctx, `UPDATE endpoints SET sealed_headers = $2 WHERE id = $1`, endpointID, sealed); err != nil {
		return fmt.Errorf("write endpoint %s sealed headers: %w", endpointID, translate(err))
	}
	return nil
}

// readHeaders returns endpoint endpointID's custom headers, the sensitive
// ones opened.
func (s *Store) readHeaders(ctx context.Context, tenantID, endpointID string) (map[string]string, error) {
	var plain, sealed []byte
	err := s.pg.QueryRow(ctx, `SELECT headers, sealed_headers FROM endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, endpointID).Scan(&plain, &sealed)
	if err != nil {
		return nil, fmt.Errorf("read endpoint %s headers: %w", endpointID, translate(err))
	}
	h := map[string]string{}
	if len(plain) > 0 {
		if err := json.Unmarshal(plain, &h); err != nil {
			return nil, fmt.Errorf("endpoint %s headers: %w", endpointID, err)
		}
	}
	return s.openHeaders(endpointID, sealed, h)
}

// SealPlaintextHeaders seals the sensitive header values that versions
// before sealed headers stored in the clear, and returns how many
// endpoints it changed. It is idempotent, and safe to run from several
// processes at once (each endpoint is rewritten under its row lock).
func (s *Store) SealPlaintextHeaders(ctx context.Context) (int, error) {
	if s.cipher == nil {
		return 0, nil
	}
	names := tenants.SensitiveHeaderNames()
	n := 0
	for {
		// The JSON keys as stored, in any case: a header's spelling is
		// the endpoint's.
		var ids []string
		rows, err := s.pg.Query(ctx, `SELECT id FROM endpoints
			WHERE EXISTS (SELECT 1 FROM jsonb_object_keys(headers) k WHERE lower(k) = ANY($1)) LIMIT 500`, names)
		if err != nil {
			return n, fmt.Errorf("find plaintext headers: %w", translate(err))
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return n, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, err
		}
		if len(ids) == 0 {
			return n, nil
		}
		for _, id := range ids {
			err := s.InTx(ctx, func(tx *Store) error {
				var plain, sealed []byte
				var tenantID string
				if err := tx.pg.QueryRow(ctx, `SELECT tenant_id, headers, sealed_headers FROM endpoints WHERE id = $1 FOR UPDATE`, id).Scan(&tenantID, &plain, &sealed); err != nil {
					return translate(err)
				}
				h := map[string]string{}
				if err := json.Unmarshal(plain, &h); err != nil {
					return err
				}
				all, err := tx.openHeaders(id, sealed, h)
				if err != nil {
					return err
				}
				return tx.writeHeaders(ctx, id, all)
			})
			if err != nil {
				return n, fmt.Errorf("seal endpoint %s headers: %w", id, err)
			}
			n++
		}
	}
}
