package tenants

import "github.com/hookline/hookline/internal/nullable"

// Optional is a PATCH field: absent (Set false) keeps the stored value,
// explicit null (Set and Null) clears it, anything else replaces it. It is
// the type the API decodes PATCH bodies into, so a field passes from the
// wire to the store unchanged.
type Optional[T any] = nullable.Value[T]

// Some returns a set, non-null Optional.
func Some[T any](v T) Optional[T] { return nullable.Some(v) }
