package tenants

import (
	"slices"
	"strings"

	"gorm.io/gorm"
)

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

// paginate applies keyset pagination on column col to q and runs it. key
// returns an item's key.
func paginate[T any](q *gorm.DB, col string, p ListParams, key func(*T) string) (Page[T], error) {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	iter, backward := strings.CutPrefix(p.Iterator, "-")
	// Walking backwards is walking forwards in the opposite order, then
	// turning the page round.
	desc := p.Desc != backward
	if iter != "" {
		if desc {
			q = q.Where(col+" < ?", iter)
		} else {
			q = q.Where(col+" > ?", iter)
		}
	}
	order := col + " ASC"
	if desc {
		order = col + " DESC"
	}
	var rows []T
	if err := q.Order(order).Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page[T]{}, translate(err)
	}
	done := len(rows) <= limit
	if !done {
		rows = rows[:limit]
	}
	if backward {
		slices.Reverse(rows)
	}
	pg := Page[T]{Items: rows, Done: done}
	if len(rows) > 0 {
		pg.Iterator = key(&rows[len(rows)-1])
		pg.PrevIterator = "-" + key(&rows[0])
	}
	return pg, nil
}
