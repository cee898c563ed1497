package tenants

// Optional is a PATCH field: absent (Set false) keeps the stored value,
// explicit null (Set and Null) clears it, anything else replaces it.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Some returns a set, non-null Optional.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: v} }

// Apply returns the patched value of a nullable field whose current value
// is cur.
func (o Optional[T]) Apply(cur *T) *T {
	switch {
	case !o.Set:
		return cur
	case o.Null:
		return nil
	default:
		v := o.Value
		return &v
	}
}
