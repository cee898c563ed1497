package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hookline/hookline/internal/ttlcache"
	"github.com/hookline/hookline/tenants"
)

// Task types of the periodic billing tasks; main wraps Service.Rollup and
// Service.Report as their asynq handlers.
const (
	TaskRollup = "billing:rollup"
	TaskReport = "billing:report"
)

// Defaults of Options.
const (
	DefaultPlan         = PlanPro
	DefaultGrace        = 7 * 24 * time.Hour
	DefaultSafetyMargin = 5 * time.Minute
	DefaultQuotaTTL     = 30 * time.Second
	DefaultQuotaFloor   = 1000
)

// Options configure a Service. Zero values take the defaults above.
type Options struct {
	// DefaultPlan is the plan of tenants the operator never put on one
	// (HOOKLINE_BILLING_DEFAULT_PLAN). The default is pro: metered, no
	// cap, so that installing billing never starts refusing an existing
	// tenant's messages; operators selling a free tier set it to free.
	DefaultPlan string
	// Grace is how long a paid-plan tenant may stay past due before
	// message creation answers 402 (HOOKLINE_BILLING_GRACE).
	Grace time.Duration
	// SafetyMargin is how long after its end an hour becomes final: the
	// longest a delivery's commit may lag its succeeded_at (plus clock
	// skew between workers).
	SafetyMargin time.Duration
	// QuotaTTL is how long a process trusts its cached view of a tenant's
	// plan, payment status and usage when far from the cap.
	QuotaTTL time.Duration
	// QuotaFloor is the least distance to the cap (in deliveries) under
	// which every message creation counts usage live; see nearMargin.
	QuotaFloor int64
	// Stripe connects to Stripe; nil disables customers, subscriptions
	// and usage reporting (metering and quotas still work).
	Stripe *StripeConfig
	// WebhookSecret verifies Stripe's webhooks
	// (HOOKLINE_STRIPE_WEBHOOK_SECRET); empty refuses them all.
	WebhookSecret string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is billing: metering, quotas, Stripe. It is safe for concurrent
// use. Create it with New.
type Service struct {
	store   Store
	log     *slog.Logger
	opts    Options
	now     func() time.Time
	stripe  *stripeClient // nil without Stripe
	quota   *quotaCache
	weights *ttlcache.Cache[string, int]

	// beforeMark runs between a meter event's acceptance by Stripe and the
	// transaction that records it: tests inject a crash there.
	beforeMark func(Bucket) error
}

// New builds the service over its store and checks that the default plan
// exists.
func New(ctx context.Context, st Store, log *slog.Logger, o Options) (*Service, error) {
	if o.DefaultPlan == "" {
		o.DefaultPlan = DefaultPlan
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.SafetyMargin <= 0 {
		o.SafetyMargin = DefaultSafetyMargin
	}
	if o.QuotaTTL <= 0 {
		o.QuotaTTL = DefaultQuotaTTL
	}
	if o.QuotaFloor <= 0 {
		o.QuotaFloor = DefaultQuotaFloor
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{store: st, log: log, opts: o}
	s.now = func() time.Time { return o.Now().UTC().Truncate(time.Microsecond) }
	if _, err := s.store.FindPlan(ctx, o.DefaultPlan); err != nil {
		if !errors.Is(err, tenants.ErrNotFound) {
			return nil, err
		}
		var ids []string
		if plans, err := s.store.Plans(ctx); err == nil {
			for _, p := range plans {
				ids = append(ids, p.ID)
			}
		}
		return nil, fmt.Errorf("the default plan %q (HOOKLINE_BILLING_DEFAULT_PLAN) does not exist; the plans are: %s",
			o.DefaultPlan, strings.Join(ids, ", "))
	}
	if o.Stripe != nil && o.Stripe.SecretKey != "" {
		s.stripe = newStripeClient(*o.Stripe, log)
	}
	s.quota = newQuotaCache(o.QuotaTTL, o.QuotaFloor, s.loadQuota, s.countMonth)
	s.weights = ttlcache.New[string, int](10_000, laneWeightTTL)
	return s, nil
}

// Store returns the service's store, for commands and tests that read the
// billing tables.
func (s *Service) Store() Store { return s.store }

// Plans returns every plan.
func (s *Service) Plans(ctx context.Context) ([]Plan, error) { return s.store.Plans(ctx) }

// APIRateLimit returns the API requests per second the tenant's plan
// allows; 0 means the plan leaves it to the server's default. It reads the
// database on every call: the API caches the answer.
func (s *Service) APIRateLimit(ctx context.Context, tenantID string) (int, error) {
	a, err := s.store.FindAccount(ctx, tenantID, s.opts.DefaultPlan)
	if err != nil {
		return 0, err
	}
	if a.Plan.APIRateLimit == nil {
		return 0, nil
	}
	return *a.Plan.APIRateLimit, nil
}

// laneWeightTTL is how stale a tenant's lane weight may be: a plan change
// shows in its share of the workers within a minute.
const laneWeightTTL = time.Minute

// LaneWeight returns the tenant's share of the workers (its plan's lane
// weight; 1 when the tenant or its plan cannot be read). Answers are
// cached for laneWeightTTL, 10,000 tenants at most: the workers ask once
// per batch of deliveries they admit.
func (s *Service) LaneWeight(ctx context.Context, tenantID string) int {
	if w, ok := s.weights.Get(tenantID); ok {
		return w
	}
	w := 1
	if a, err := s.store.FindAccount(ctx, tenantID, s.opts.DefaultPlan); err == nil && a.Plan.LaneWeight > 0 {
		w = a.Plan.LaneWeight
	}
	s.weights.Add(tenantID, w)
	return w
}

// Account returns the tenant's billing account, or ErrNotFound.
func (s *Service) Account(ctx context.Context, tenantID string) (Account, error) {
	return s.store.FindAccount(ctx, tenantID, s.opts.DefaultPlan)
}

// PlanChange is an operator's choice of plan for a tenant.
type PlanChange struct {
	Plan string
	// MonthlyCap is the tenant's own cap: required by custom-cap plans
	// (enterprise), refused by the others.
	MonthlyCap *int64
}

// SetPlan puts the tenant on a plan and returns its account. An unknown
// plan or a cap that does not fit the plan is a validation error; a
// missing tenant ErrNotFound. The change applies at once in this process
// and within the quota TTL in others.
func (s *Service) SetPlan(ctx context.Context, tenantID string, ch PlanChange) (Account, error) {
	cur, err := s.Account(ctx, tenantID)
	if err != nil {
		return Account{}, err
	}
	p, err := s.store.FindPlan(ctx, ch.Plan)
	if errors.Is(err, tenants.ErrNotFound) {
		return Account{}, tenants.Invalid("plan", fmt.Sprintf("unknown plan %q", ch.Plan))
	}
	if err != nil {
		return Account{}, err
	}
	switch {
	case p.CustomCap && ch.MonthlyCap == nil:
		return Account{}, tenants.Invalid("monthlyCap", fmt.Sprintf("the %s plan needs a monthlyCap for this tenant", p.ID))
	case !p.CustomCap && ch.MonthlyCap != nil:
		return Account{}, tenants.Invalid("monthlyCap", fmt.Sprintf("the %s plan's cap is fixed; only custom-cap plans take a monthlyCap", p.ID))
	case ch.MonthlyCap != nil && *ch.MonthlyCap < 0:
		return Account{}, tenants.Invalid("monthlyCap", "must not be negative")
	}
	now := s.now()
	var reportFrom *time.Time
	if p.Paid && !cur.Plan.Paid {
		// Hours spent on the unpaid plan are never invoiced.
		h := HourStart(now)
		reportFrom = &h
	}
	if err := s.store.SetPlan(ctx, tenantID, p.ID, ch.MonthlyCap, reportFrom, now); err != nil {
		return Account{}, err
	}
	s.quota.forget(tenantID)
	if p.Paid && s.stripe != nil && cur.StripeCustomerID != "" && cur.StripeSubscriptionID == "" {
		if err := s.ensureSubscription(ctx, tenantID, cur.StripeCustomerID); err != nil {
			s.log.WarnContext(ctx, "cannot subscribe tenant now; the report task will retry", "tenant_id", tenantID, "err", err)
		}
	}
	return s.Account(ctx, tenantID)
}

// StripeLink is an operator's link of a tenant to Stripe objects that
// already exist. Empty fields are created: no customer id provisions a new
// customer, no subscription id subscribes the customer to the metered
// price (paid plans only).
type StripeLink struct {
	CustomerID     string
	SubscriptionID string
}

// AttachStripe links the tenant to a Stripe customer (and subscription),
// checking with Stripe that they exist and belong together, and returns
// the account. Without Stripe configured it fails with ErrStripeDisabled;
// a customer linked to another tenant is ErrConflict.
func (s *Service) AttachStripe(ctx context.Context, tenantID string, l StripeLink) (Account, error) {
	if s.stripe == nil {
		return Account{}, stripeDisabled()
	}
	t, err := s.store.FindTenantByID(ctx, tenantID)
	if err != nil {
		return Account{}, err
	}
	if l.CustomerID == "" && l.SubscriptionID == "" {
		if err := s.ProvisionTenant(ctx, TenantRef{ID: t.ID, Name: t.Name}); err != nil {
			return Account{}, err
		}
		return s.Account(ctx, tenantID)
	}
	var subStatus string
	if l.SubscriptionID != "" {
		var subCustomer string
		subCustomer, subStatus, err = s.stripe.findSubscription(ctx, l.SubscriptionID)
		if stripeNotFound(err) {
			return Account{}, tenants.Invalid("subscriptionId", "Stripe has no such subscription")
		}
		if err != nil {
			return Account{}, err
		}
		if l.CustomerID == "" {
			l.CustomerID = subCustomer
		} else if subCustomer != l.CustomerID {
			return Account{}, tenants.Invalid("subscriptionId", "the subscription belongs to another customer")
		}
	}
	err = s.stripe.checkCustomer(ctx, l.CustomerID)
	if stripeNotFound(err) {
		return Account{}, tenants.Invalid("customerId", "Stripe has no such customer")
	}
	if err != nil {
		return Account{}, err
	}
	now := s.now()
	if _, err := s.store.LinkCustomer(ctx, tenantID, l.CustomerID, true, now); err != nil {
		return Account{}, err
	}
	if l.SubscriptionID != "" {
		if _, err := s.store.LinkSubscription(ctx, tenantID, l.CustomerID, l.SubscriptionID, subStatus, true, now); err != nil {
			return Account{}, err
		}
	} else {
		// Re-attaching the customer a tenant already has keeps its
		// subscription; a new customer (or none yet) gets one.
		acct, err := s.Account(ctx, tenantID)
		if err != nil {
			return Account{}, err
		}
		if acct.Plan.Paid && acct.StripeSubscriptionID == "" {
			if err := s.ensureSubscription(ctx, tenantID, l.CustomerID); err != nil {
				return Account{}, err
			}
		}
	}
	s.quota.forget(tenantID)
	return s.Account(ctx, tenantID)
}

// TenantCreated links a new tenant to Stripe right away (customer, and
// subscription on a paid plan). It never fails the creation: when Stripe
// does not answer, the error is logged and the report task links the
// tenant on its next run.
func (s *Service) TenantCreated(ctx context.Context, tenantID string) {
	if s.stripe == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	t, err := s.store.FindTenantByID(ctx, tenantID)
	if err == nil {
		err = s.ProvisionTenant(ctx, TenantRef{ID: t.ID, Name: t.Name})
	}
	if err != nil {
		s.log.WarnContext(ctx, "cannot link the new tenant to Stripe now; the report task will retry", "tenant_id", tenantID, "err", err)
	}
}

// ProvisionTenant creates the tenant's Stripe customer if it has none, and
// its subscription to the metered price if it is on a paid plan and has
// none. Both creations carry idempotency keys, and the links are written
// only where empty, so concurrent or repeated calls converge on one
// customer and one subscription.
func (s *Service) ProvisionTenant(ctx context.Context, t TenantRef) error {
	if s.stripe == nil {
		return stripeDisabled()
	}
	acct, err := s.Account(ctx, t.ID)
	if err != nil {
		return err
	}
	customer := acct.StripeCustomerID
	if customer == "" {
		id, err := s.stripe.createCustomer(ctx, t)
		if err != nil {
			return err
		}
		if customer, err = s.store.LinkCustomer(ctx, t.ID, id, false, s.now()); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "tenant linked to a stripe customer", "tenant_id", t.ID, "customer", customer)
	}
	if acct.Plan.Paid && acct.StripeSubscriptionID == "" {
		return s.ensureSubscription(ctx, t.ID, customer)
	}
	return nil
}

func (s *Service) ensureSubscription(ctx context.Context, tenantID, customerID string) error {
	if s.stripe.priceID == "" {
		return nil
	}
	id, status, err := s.stripe.createSubscription(ctx, tenantID, customerID)
	if err != nil {
		return err
	}
	if _, err := s.store.LinkSubscription(ctx, tenantID, customerID, id, status, false, s.now()); err != nil {
		return err
	}
	s.quota.forget(tenantID)
	return nil
}
