package tenants

import "fmt"

// The bounds of an endpoint's own lane cap (Endpoint.MaxConcurrency), as
// the schema's CHECK constraint holds them. Without one, the server's
// default applies (64 attempts in flight).
const (
	MinMaxConcurrency = 1
	MaxMaxConcurrency = 1000
)

// CheckMaxConcurrency returns a CodeInvalid error at loc when n (an
// endpoint's lane cap; nil: the default) is out of bounds.
func CheckMaxConcurrency(loc []string, n *int) error {
	if n != nil && (*n < MinMaxConcurrency || *n > MaxMaxConcurrency) {
		return InvalidAt(loc, fmt.Sprintf("must be between %d and %d", MinMaxConcurrency, MaxMaxConcurrency))
	}
	return nil
}
