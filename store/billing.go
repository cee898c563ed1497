package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/tenants"
)

// This file holds billing's accounts and plans: the tables tenant_billing
// and plans, read and written with gorm. Usage (metering, the Stripe
// report, the ledger) is in usage.go.

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type planRow struct {
	ID           string
	Name         string
	MonthlyCap   *int64
	CustomCap    bool
	Paid         bool
	APIRateLimit *int
	LaneWeight   int
}

func (r planRow) plan() billing.Plan {
	return billing.Plan{ID: r.ID, Name: r.Name, MonthlyCap: r.MonthlyCap, CustomCap: r.CustomCap, Paid: r.Paid, APIRateLimit: r.APIRateLimit, LaneWeight: r.LaneWeight}
}

// Plans returns every plan, by id.
func (s *Store) Plans(ctx context.Context) ([]billing.Plan, error) {
	var rows []planRow
	if err := s.q(ctx).Raw(`SELECT id, name, monthly_cap, custom_cap, paid, api_rate_limit, lane_weight FROM plans ORDER BY id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find plans: %w", translate(err))
	}
	out := make([]billing.Plan, len(rows))
	for i, r := range rows {
		out[i] = r.plan()
	}
	return out, nil
}

// FindPlan returns the plan or ErrNotFound.
func (s *Store) FindPlan(ctx context.Context, id string) (billing.Plan, error) {
	var r planRow
	res := s.q(ctx).Raw(`SELECT id, name, monthly_cap, custom_cap, paid, api_rate_limit, lane_weight FROM plans WHERE id = ?`, id).Scan(&r)
	if res.Error != nil {
		return billing.Plan{}, fmt.Errorf("find plan %s: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return billing.Plan{}, fmt.Errorf("find plan %s: %w", id, tenants.ErrNotFound)
	}
	return r.plan(), nil
}

type accountRow struct {
	TenantID             string
	PlanID               string
	PlanName             string
	MonthlyCap           *int64
	PlanCustomCap        bool
	Paid                 bool
	APIRateLimit         *int
	LaneWeight           int
	PlanIsDefault        bool
	CustomCap            *int64
	StripeCustomerID     string
	StripeSubscriptionID string
	SubscriptionStatus   string
	PastDueSince         *time.Time
	StatusChangedAt      *time.Time
	ReportFrom           *time.Time
}

const accountSQL = `SELECT t.id AS tenant_id, p.id AS plan_id, p.name AS plan_name, p.monthly_cap, p.custom_cap AS plan_custom_cap, p.paid, p.api_rate_limit, p.lane_weight,
	b.plan_id IS NULL AS plan_is_default, b.custom_cap,
	COALESCE(b.stripe_customer_id, '') AS stripe_customer_id, COALESCE(b.stripe_subscription_id, '') AS stripe_subscription_id,
	COALESCE(b.subscription_status, '') AS subscription_status, b.past_due_since, b.status_changed_at, b.report_from
FROM tenants t
LEFT JOIN tenant_billing b ON b.tenant_id = t.id
JOIN plans p ON p.id = COALESCE(b.plan_id, ?)`

func (r accountRow) account() billing.Account {
	return billing.Account{
		TenantID:      r.TenantID,
		Plan:          billing.Plan{ID: r.PlanID, Name: r.PlanName, MonthlyCap: r.MonthlyCap, CustomCap: r.PlanCustomCap, Paid: r.Paid, APIRateLimit: r.APIRateLimit, LaneWeight: r.LaneWeight},
		PlanIsDefault: r.PlanIsDefault, CustomCap: r.CustomCap,
		StripeCustomerID: r.StripeCustomerID, StripeSubscriptionID: r.StripeSubscriptionID, SubscriptionStatus: r.SubscriptionStatus,
		PastDueSince: utcPtr(r.PastDueSince), StatusChangedAt: utcPtr(r.StatusChangedAt), ReportFrom: utcPtr(r.ReportFrom),
	}
}

// FindAccount returns the tenant's billing account; a tenant whose plan was
// never set has defaultPlan. A missing tenant is ErrNotFound.
func (s *Store) FindAccount(ctx context.Context, tenantID, defaultPlan string) (billing.Account, error) {
	var r accountRow
	res := s.q(ctx).Raw(accountSQL+` WHERE t.id = ?`, defaultPlan, tenantID).Scan(&r)
	if res.Error != nil {
		return billing.Account{}, fmt.Errorf("find billing account %s: %w", tenantID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return billing.Account{}, fmt.Errorf("find billing account %s: %w", tenantID, tenants.ErrNotFound)
	}
	return r.account(), nil
}

// FindAccountByCustomer returns the account linked to a Stripe customer, or
// ErrNotFound.
func (s *Store) FindAccountByCustomer(ctx context.Context, customerID, defaultPlan string) (billing.Account, error) {
	var r accountRow
	res := s.q(ctx).Raw(accountSQL+` WHERE b.stripe_customer_id = ?`, defaultPlan, customerID).Scan(&r)
	if res.Error != nil {
		return billing.Account{}, fmt.Errorf("find billing account of %s: %w", customerID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return billing.Account{}, fmt.Errorf("find billing account of %s: %w", customerID, tenants.ErrNotFound)
	}
	return r.account(), nil
}

// SetPlan puts the tenant on plan planID with customCap (nil for plans
// without a custom cap). reportFrom, when set, moves the start of usage
// reporting forward to it (a tenant moving onto a paid plan is not
// invoiced for the hours before).
func (s *Store) SetPlan(ctx context.Context, tenantID, planID string, customCap *int64, reportFrom *time.Time, now time.Time) error {
	err := s.q(ctx).Exec(`INSERT INTO tenant_billing (tenant_id, plan_id, custom_cap, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET plan_id = EXCLUDED.plan_id, custom_cap = EXCLUDED.custom_cap, updated_at = EXCLUDED.updated_at,
			report_from = CASE WHEN ?::timestamptz IS NULL THEN tenant_billing.report_from
				ELSE GREATEST(tenant_billing.report_from, ?::timestamptz) END`,
		tenantID, planID, customCap, now, now, reportFrom, reportFrom).Error
	if err != nil {
		return fmt.Errorf("set plan of %s: %w", tenantID, translate(err))
	}
	return nil
}

// LinkCustomer links the tenant to a Stripe customer. With replace unset it
// only fills an empty link and returns the customer the tenant ends up with
// (another process may have linked one first). Linking a new customer
// starts usage reporting at the current hour and forgets the previous
// customer's subscription and payment status.
func (s *Store) LinkCustomer(ctx context.Context, tenantID, customerID string, replace bool, now time.Time) (string, error) {
	var linked string
	err := s.InTx(ctx, func(t *Store) error {
		tx := t.q(ctx)
		if err := tx.Exec(`INSERT INTO tenant_billing (tenant_id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING`,
			tenantID, now, now).Error; err != nil {
			return err
		}
		var cur struct{ StripeCustomerID *string }
		if err := tx.Raw(`SELECT stripe_customer_id FROM tenant_billing WHERE tenant_id = ? FOR UPDATE`, tenantID).Scan(&cur).Error; err != nil {
			return err
		}
		if cur.StripeCustomerID != nil && (!replace || *cur.StripeCustomerID == customerID) {
			linked = *cur.StripeCustomerID
			return nil
		}
		linked = customerID
		return tx.Exec(`UPDATE tenant_billing SET stripe_customer_id = ?, stripe_subscription_id = NULL, subscription_status = '',
				past_due_since = NULL, status_changed_at = NULL, report_from = ?, updated_at = ?
			WHERE tenant_id = ?`, customerID, billing.HourStart(now), now, tenantID).Error
	})
	if err != nil {
		return "", fmt.Errorf("link %s to customer %s: %w", tenantID, customerID, translate(err))
	}
	return linked, nil
}

// LinkSubscription records the tenant's subscription, provided the tenant
// is still linked to customerID; with replace unset it only fills an empty
// link. It reports whether the link was written.
func (s *Store) LinkSubscription(ctx context.Context, tenantID, customerID, subscriptionID, status string, replace bool, now time.Time) (bool, error) {
	q := `UPDATE tenant_billing SET stripe_subscription_id = ?, subscription_status = ?, past_due_since = NULL, updated_at = ?
		WHERE tenant_id = ? AND stripe_customer_id = ?`
	if !replace {
		q += ` AND stripe_subscription_id IS NULL`
	}
	res := s.q(ctx).Exec(q, subscriptionID, status, now, tenantID, customerID)
	if res.Error != nil {
		return false, fmt.Errorf("link %s to subscription %s: %w", tenantID, subscriptionID, translate(res.Error))
	}
	return res.RowsAffected == 1, nil
}

// TenantsWithoutCustomer returns up to limit tenants not linked to a Stripe
// customer, oldest first.
func (s *Store) TenantsWithoutCustomer(ctx context.Context, limit int) ([]billing.TenantRef, error) {
	var out []billing.TenantRef
	err := s.q(ctx).Raw(`SELECT t.id, t.name FROM tenants t LEFT JOIN tenant_billing b ON b.tenant_id = t.id
		WHERE b.stripe_customer_id IS NULL ORDER BY t.id LIMIT ?`, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("find tenants without customer: %w", translate(err))
	}
	return out, nil
}

// TenantsWithoutSubscription returns up to limit tenants on a paid plan
// (defaultPlan for those without one) linked to a customer but not to a
// subscription.
func (s *Store) TenantsWithoutSubscription(ctx context.Context, defaultPlan string, limit int) ([]billing.Account, error) {
	var rows []accountRow
	err := s.q(ctx).Raw(accountSQL+` WHERE b.stripe_customer_id IS NOT NULL AND b.stripe_subscription_id IS NULL AND p.paid
		ORDER BY t.id LIMIT ?`, defaultPlan, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find tenants without subscription: %w", translate(err))
	}
	out := make([]billing.Account, len(rows))
	for i, r := range rows {
		out[i] = r.account()
	}
	return out, nil
}
