package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// stripeWebhookMaxBytes bounds a Stripe event body; Stripe's events are a
// few kilobytes, their largest well under this.
const stripeWebhookMaxBytes = 1 << 20

// stripeWebhook is POST /billing/stripe/webhook. It answers 200 once the
// event is verified and applied (or recognised as a replay), 400 when the
// signature does not verify (nothing changes), and 5xx when it could not
// be stored, so that Stripe retries.
func (s *Server) stripeWebhook(c *gin.Context) error {
	if s.billing == nil {
		return errBillingDisabled
	}
	body, err := readBody(c, stripeWebhookMaxBytes)
	if err != nil {
		return err
	}
	res, err := s.billing.HandleStripeWebhook(c.Request.Context(), body, c.GetHeader("Stripe-Signature"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"received": true, "id": res.EventID, "duplicate": res.Duplicate})
	return nil
}
