package api

// Billing is what the API needs from the billing package (owned by the
// billing work; see issue 5).
type Billing interface{}

// billingRoutes lists the usage API and the Stripe webhook route.
func (s *Server) billingRoutes() []route {
	return nil
}
