package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/billing"
)

type invoiceOut struct {
	ID         string    `json:"id"`
	Number     string    `json:"number"`
	Status     string    `json:"status"`
	Currency   string    `json:"currency"`
	AmountDue  int64     `json:"amountDue"`
	AmountPaid int64     `json:"amountPaid"`
	Total      int64     `json:"total"`
	Created    time.Time `json:"created"`
	HostedURL  string    `json:"hostedUrl,omitempty"`
}

// listInvoices answers the tenant's recent Stripe invoices; enabled is
// false when this Hookline bills through no Stripe account.
func (s *Server) listInvoices(c *gin.Context) error {
	if s.d.Invoices == nil {
		c.JSON(http.StatusOK, gin.H{"enabled": false, "data": []invoiceOut{}})
		return nil
	}
	ins, err := s.d.Invoices.Invoices(c.Request.Context(), tenantOf(c), 12)
	if errors.Is(err, billing.ErrStripeDisabled) {
		c.JSON(http.StatusOK, gin.H{"enabled": false, "data": []invoiceOut{}})
		return nil
	}
	if err != nil {
		return err
	}
	out := make([]invoiceOut, 0, len(ins))
	for _, in := range ins {
		out = append(out, invoiceOut{ID: in.ID, Number: in.Number, Status: in.Status, Currency: in.Currency,
			AmountDue: in.AmountDue, AmountPaid: in.AmountPaid, Total: in.Total, Created: in.Created, HostedURL: in.HostedURL})
	}
	c.JSON(http.StatusOK, gin.H{"enabled": true, "data": out})
	return nil
}
