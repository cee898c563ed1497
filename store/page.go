package store

import (
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/hookline/hookline/tenants"
)

// paginate applies keyset pagination on column col to q (gorm) and runs
// it. key returns a row's key. The traffic files page with pageQuery
// (sqlbuild.go) by the same rules.
func paginate[T any](q *gorm.DB, col string, p tenants.ListParams, key func(*T) string) (tenants.Page[T], error) {
	limit, iter, desc, backward := pageBounds(p)
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
		return tenants.Page[T]{}, translate(err)
	}
	return finishPage(rows, limit, backward, key), nil
}

// pageBounds reads a page request: the page size, the key to start after
// (or before), whether the scan runs in descending key order, and whether
// the caller walks backwards (the scan then runs the other way and the
// page is turned round).
func pageBounds(p tenants.ListParams) (limit int, iter string, desc, backward bool) {
	limit = p.Limit
	if limit <= 0 {
		limit = tenants.DefaultLimit
	}
	iter, backward = strings.CutPrefix(p.Iterator, "-")
	return limit, iter, p.Desc != backward, backward
}

// finishPage turns up to limit+1 rows read in scan order into a page.
func finishPage[T any](rows []T, limit int, backward bool, key func(*T) string) tenants.Page[T] {
	done := len(rows) <= limit
	if !done {
		rows = rows[:limit]
	}
	if backward {
		slices.Reverse(rows)
	}
	pg := tenants.Page[T]{Items: rows, Done: done}
	if len(rows) > 0 {
		pg.Iterator = key(&rows[len(rows)-1])
		pg.PrevIterator = "-" + key(&rows[0])
	}
	return pg
}

// convertPage maps a page of rows onto a page of domain values.
func convertPage[R, T any](pg tenants.Page[R], conv func(R) T) tenants.Page[T] {
	out := tenants.Page[T]{Iterator: pg.Iterator, PrevIterator: pg.PrevIterator, Done: pg.Done, Items: make([]T, len(pg.Items))}
	for i, r := range pg.Items {
		out.Items[i] = conv(r)
	}
	return out
}
