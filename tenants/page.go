package tenants

// Page limits, from the Svix contract.
const (
	DefaultLimit = 50
	MaxLimit     = 250
)

// ListParams selects one page of a list ordered by a string key (an id, or
// an event-type name). Iterator is the key of the last item of the previous
// page; a leading "-" pages backwards from the given key.
type ListParams struct {
	Limit    int
	Iterator string
	// Desc orders newest (largest key) first.
	Desc bool
}

// Page is one page of a list.
type Page[T any] struct {
	Items []T
	// Iterator is the last item's key ("" when the page is empty).
	Iterator string
	// PrevIterator is "-" + the first item's key ("" when empty).
	PrevIterator string
	// Done is true when nothing follows in the direction of travel.
	Done bool
}
