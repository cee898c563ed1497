package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/hookline/hookline/tenants"
)

// DefaultMeterEventName is the meter event name usage is reported under
// when none is configured; the operator's Stripe meter must use the same
// event name, with payload keys stripe_customer_id and value.
const DefaultMeterEventName = "hookline_deliveries"

// StripeConfig connects the service to Stripe.
type StripeConfig struct {
	// SecretKey is the Stripe API key (HOOKLINE_STRIPE_SECRET_KEY).
	SecretKey string
	// APIURL points stripe-go at another backend, such as stripe-mock
	// (HOOKLINE_STRIPE_API_URL); empty means Stripe's API.
	APIURL string
	// PriceID is the metered price each paid-plan tenant is subscribed to
	// (HOOKLINE_STRIPE_PRICE_ID).
	PriceID string
	// MeterEventName is the meter's event name; empty means
	// DefaultMeterEventName.
	MeterEventName string
	// HTTPClient carries the requests; nil means a client with a 30 s
	// timeout. Tests wrap its transport to record what was sent.
	HTTPClient *http.Client
}

// stripeClient is the part of Stripe's API billing uses, through a
// per-service stripe-go client (never the package-level globals, so two
// services in one process, such as parallel tests, do not share a backend
// or key).
type stripeClient struct {
	api       *client.API
	priceID   string
	eventName string
}

func newStripeClient(c StripeConfig, log *slog.Logger) *stripeClient {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := &stripe.BackendConfig{HTTPClient: hc, LeveledLogger: stripeLogger{log.With("component", "stripe")}}
	if c.APIURL != "" {
		cfg.URL = stripe.String(c.APIURL)
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
	name := c.MeterEventName
	if name == "" {
		name = DefaultMeterEventName
	}
	return &stripeClient{
		api:     client.New(c.SecretKey, &stripe.Backends{API: b, Connect: b, Uploads: b}),
		priceID: c.PriceID, eventName: name,
	}
}

// createCustomer creates the tenant's customer. The idempotency key is the
// tenant's, so a retry after a crash between Stripe's answer and our
// commit gets the same customer back (within Stripe's 24 h key lifetime).
func (c *stripeClient) createCustomer(ctx context.Context, t TenantRef) (string, error) {
	p := &stripe.CustomerParams{Name: stripe.String(t.Name)}
	p.Context = ctx
	p.IdempotencyKey = stripe.String("hookline-customer-" + t.ID)
	p.AddMetadata("hookline_tenant_id", t.ID)
	cu, err := c.api.Customers.New(p)
	if err != nil {
		return "", stripeFailed("create customer for "+t.ID, err)
	}
	return cu.ID, nil
}

// checkCustomer reports whether the customer exists (and is not deleted).
func (c *stripeClient) checkCustomer(ctx context.Context, id string) error {
	p := &stripe.CustomerParams{}
	p.Context = ctx
	cu, err := c.api.Customers.Get(id, p)
	if err != nil {
		return stripeFailed("find customer "+id, err)
	}
	if cu.Deleted {
		return tenants.Invalid("customerId", "the Stripe customer "+id+" is deleted")
	}
	return nil
}

// createSubscription subscribes the customer to the metered price. The
// idempotency key names tenant and customer: one subscription per link.
func (c *stripeClient) createSubscription(ctx context.Context, tenantID, customerID string) (id, status string, err error) {
	p := &stripe.SubscriptionParams{
		Customer: stripe.String(customerID),
		Items:    []*stripe.SubscriptionItemsParams{{Price: stripe.String(c.priceID)}},
	}
	p.Context = ctx
	p.IdempotencyKey = stripe.String("hookline-subscription-" + tenantID + "-" + customerID)
	p.AddMetadata("hookline_tenant_id", tenantID)
	sub, err := c.api.Subscriptions.New(p)
	if err != nil {
		return "", "", stripeFailed("create subscription for "+tenantID, err)
	}
	return sub.ID, string(sub.Status), nil
}

// findSubscription returns a subscription's customer and status.
func (c *stripeClient) findSubscription(ctx context.Context, id string) (customerID, status string, err error) {
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	sub, err := c.api.Subscriptions.Get(id, p)
	if err != nil {
		return "", "", stripeFailed("find subscription "+id, err)
	}
	if sub.Customer != nil {
		customerID = sub.Customer.ID
	}
	return customerID, string(sub.Status), nil
}

// meterEvent is one usage bucket as Stripe receives it.
type meterEvent struct {
	Identifier string
	CustomerID string
	Value      int64
	Timestamp  time.Time
}

// sendMeterEvent reports one bucket. Stripe de-duplicates on the
// identifier (over a rolling 24 hours), which is what makes re-sending
// after a crash safe.
func (c *stripeClient) sendMeterEvent(ctx context.Context, ev meterEvent) error {
	p := &stripe.BillingMeterEventParams{
		EventName:  stripe.String(c.eventName),
		Identifier: stripe.String(ev.Identifier),
		Payload: map[string]string{
			"stripe_customer_id": ev.CustomerID,
			"value":              strconv.FormatInt(ev.Value, 10),
		},
		Timestamp: stripe.Int64(ev.Timestamp.Unix()),
	}
	p.Context = ctx
	if _, err := c.api.BillingMeterEvents.New(p); err != nil {
		return stripeFailed("send meter event "+ev.Identifier, err)
	}
	return nil
}

// stripeNotFound reports whether err is Stripe's answer for a missing
// object.
func stripeNotFound(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && (se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing)
}

// stripeLogger sends stripe-go's log lines to slog.
type stripeLogger struct{ l *slog.Logger }

func (s stripeLogger) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s stripeLogger) Infof(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s stripeLogger) Warnf(format string, v ...any)  { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s stripeLogger) Errorf(format string, v ...any) { s.l.Warn(fmt.Sprintf(format, v...)) }
