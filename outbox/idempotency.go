package outbox

import (
	"crypto/sha256"
	"time"

	"github.com/hookline/hookline/tenants"
)

// IdempotencyTTL is how long an idempotency key is remembered, as Svix
// documents it: a repeat within it gets the first answer again.
const IdempotencyTTL = 12 * time.Hour

// ErrIdempotencyMismatch is returned when an idempotency key is used again
// with a different request body: the repeat is refused rather than
// answered with the first request's result (an invalid request,
// "idempotency_key_reused", as the IETF Idempotency-Key draft suggests).
var ErrIdempotencyMismatch = &tenants.Error{Code: tenants.CodeInvalid, Reason: "idempotency_key_reused",
	Message: "this idempotency key was used with a different request body; use a new key for a new request"}

// Idempotency is a request's Idempotency-Key as the transport received it.
type Idempotency struct {
	// Key is the header's value.
	Key string
	// Route names the operation (method and path as requested): a key is
	// one operation's, so the same key on two routes is two keys.
	Route string
	// Body is the raw request body; its hash is the fingerprint.
	Body []byte
}

// IdempotencyKey derives the stored key: scoped by tenant (so one tenant's
// key means the same whether it came with an API key or a JWT, and never
// collides with another tenant's), by route, and by the header's value.
// It is a pure function, shared by the message path and the API's generic
// idempotency for other POSTs.
func IdempotencyKey(tenantID, route, key string) []byte {
	// One buffer, on the stack when it fits, hashed at once: a hash.Hash
	// and the conversions written to it were six allocations a message.
	var stack [256]byte
	b := stack[:0]
	b = append(append(b, tenantID...), 0)
	b = append(append(b, route...), 0)
	b = append(b, key...)
	sum := sha256.Sum256(b)
	return sum[:]
}

// Fingerprint is the hash of a request body that a key remembers.
func Fingerprint(body []byte) []byte {
	s := sha256.Sum256(body)
	return s[:]
}
