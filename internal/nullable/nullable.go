// Package nullable has the one field type that PATCH bodies need to tell
// absent, null and a value apart. The API and the portal decode JSON into
// it, and the domain's patches (tenants.Optional) are the same type, so a
// decoded field passes through unchanged.
package nullable

import "encoding/json"

// Value is a field of a PATCH: Set is false when the field was absent
// (keep the stored value), Null when it was null (reset it), and otherwise
// Value holds what was sent. Its zero value is "absent".
type Value[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Some returns a set, non-null Value.
func Some[T any](v T) Value[T] { return Value[T]{Set: true, Value: v} }

// UnmarshalJSON records that the field was present, and whether null.
func (n *Value[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// Apply returns the patched value of a nullable field whose current value
// is cur.
func (n Value[T]) Apply(cur *T) *T {
	switch {
	case !n.Set:
		return cur
	case n.Null:
		return nil
	default:
		v := n.Value
		return &v
	}
}
