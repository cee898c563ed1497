package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// endpointSecretRow is one sealed signing secret of an endpoint.
type endpointSecretRow struct {
	ID         int64 `gorm:"primaryKey"`
	EndpointID string
	Sealed     []byte
	CreatedAt  time.Time
	ExpiresAt  *time.Time
}

func (endpointSecretRow) TableName() string { return "endpoint_secrets" }

func (s *Store) insertSecret(ctx context.Context, endpointID, secret string) error {
	if s.cipher == nil {
		return fmt.Errorf("store has no cipher for endpoint secrets")
	}
	row := endpointSecretRow{EndpointID: endpointID, Sealed: s.cipher.Seal([]byte(secret), []byte(endpointID)), CreatedAt: s.Now()}
	if err := s.q(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("store endpoint secret: %w", translate(err))
	}
	return nil
}

// EndpointSecret returns the current signing secret of endpoint ref.
func (s *Store) EndpointSecret(ctx context.Context, tenantID, appID, ref string) (string, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, ref)
	if err != nil {
		return "", err
	}
	secrets, err := s.LiveSecrets(ctx, tenantID, e.ID)
	if err != nil {
		return "", err
	}
	if len(secrets) == 0 {
		return "", fmt.Errorf("endpoint %s has no current secret: %w", e.ID, tenants.ErrNotFound)
	}
	return secrets[0], nil
}

// LiveSecrets returns an endpoint's secrets that still sign: the current one
// first, then unexpired previous ones, newest first.
func (s *Store) LiveSecrets(ctx context.Context, tenantID, endpointID string) ([]string, error) {
	var rows []endpointSecretRow
	err := s.q(ctx).Raw(`SELECT s.* FROM endpoint_secrets s JOIN endpoints e ON e.id = s.endpoint_id
		WHERE e.tenant_id = ? AND s.endpoint_id = ? AND (s.expires_at IS NULL OR s.expires_at > ?)
		ORDER BY s.expires_at IS NOT NULL, s.id DESC`, tenantID, endpointID, s.Now()).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find secrets of %s: %w", endpointID, translate(err))
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		plain, err := s.cipher.Open(r.Sealed, []byte(endpointID))
		if err != nil {
			return nil, fmt.Errorf("secret of %s: %w", endpointID, err)
		}
		out = append(out, string(plain))
	}
	return out, nil
}

// RotateEndpointSecret makes secret (or a generated one, when empty) the
// endpoint's current secret; the previous one keeps signing for grace.
// More than MaxLiveOldSecrets live old secrets is ErrTooManyOldSecrets.
func (s *Store) RotateEndpointSecret(ctx context.Context, tenantID, appID, ref, secret string, grace time.Duration) error {
	if secret == "" {
		secret = tenants.NewEndpointSecret()
	} else {
		var err error
		if secret, err = tenants.NormalizeEndpointSecret(secret); err != nil {
			return tenants.Invalid("key", err.Error())
		}
	}
	return s.InTx(ctx, func(tx *Store) error {
		e, err := tx.FindEndpoint(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		if err := tx.rotateSecret(ctx, e.ID, secret, grace); err != nil {
			return err
		}
		_, err = tx.saveEndpoint(ctx, e)
		return err
	})
}

// rotateSecret must run in a transaction; the caller bumps the endpoint's
// revision.
func (s *Store) rotateSecret(ctx context.Context, endpointID, secret string, grace time.Duration) error {
	now := s.Now()
	var live int64
	if err := s.q(ctx).Model(&endpointSecretRow{}).
		Where("endpoint_id = ? AND expires_at IS NOT NULL AND expires_at > ?", endpointID, now).Count(&live).Error; err != nil {
		return fmt.Errorf("count old secrets: %w", translate(err))
	}
	if grace > 0 && live >= tenants.MaxLiveOldSecrets {
		return tenants.ErrTooManyOldSecrets
	}
	if err := s.q(ctx).Model(&endpointSecretRow{}).Where("endpoint_id = ? AND expires_at IS NULL", endpointID).
		Update("expires_at", now.Add(grace)).Error; err != nil {
		return fmt.Errorf("expire current secret: %w", translate(err))
	}
	return s.insertSecret(ctx, endpointID, secret)
}
