// Package nullable has the one JSON field type that PATCH bodies need to
// tell absent, null and a value apart; the API and the portal share it.
package nullable

import (
	"encoding/json"

	"github.com/hookline/hookline/tenants"
)

// Value is a JSON field of a PATCH body: Set is false when the field was
// absent (keep the stored value), Null when it was null (reset it), and
// otherwise Value holds what was sent. Its zero value is "absent".
type Value[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present, and whether null.
func (n *Value[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// Optional is the field as the store's PATCH inputs take it.
func (n Value[T]) Optional() tenants.Optional[T] {
	return tenants.Optional[T]{Set: n.Set, Null: n.Null, Value: n.Value}
}
