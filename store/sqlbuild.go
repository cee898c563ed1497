package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// where builds the WHERE clause of one pgx statement: conditions ANDed,
// arguments numbered $1, $2 … in the order they are added. The traffic
// files (messages, deliveries, attempts) filter with it, so that every
// statement's text — and so its plan — says exactly which partitions'
// bounds it prunes on.
type where struct {
	conds []string
	args  []any
}

// arg adds v as the next argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// and adds a condition; each %s in cond is replaced by the placeholder of
// the next of args.
func (w *where) and(cond string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		ph[i] = w.arg(a)
	}
	w.conds = append(w.conds, fmt.Sprintf(cond, ph...))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "true"
	}
	return strings.Join(w.conds, " AND ")
}

// scanner is a row to scan: a pgx.Row of QueryRow, or one of Query's.
type scanner interface {
	Scan(dest ...any) error
}

// pageRows runs "SELECT sel FROM from WHERE w ORDER BY col LIMIT n" with
// keyset pagination on col (as paginate does for gorm) and scans each row
// with scan. key returns an item's key.
func pageRows[T any](ctx context.Context, q querier, sel, from string, w *where, col string, p tenants.ListParams,
	scan func(scanner) (T, error), key func(*T) string) (tenants.Page[T], error) {
	limit, iter, desc, backward := pageBounds(p)
	order := col + " ASC"
	if iter != "" {
		if desc {
			w.and(col+" < %s", iter)
		} else {
			w.and(col+" > %s", iter)
		}
	}
	if desc {
		order = col + " DESC"
	}
	stmt := "SELECT " + sel + " FROM " + from + " WHERE " + w.sql() + " ORDER BY " + order + " LIMIT " + strconv.Itoa(limit+1)
	rows, err := q.Query(ctx, stmt, w.args...)
	if err != nil {
		return tenants.Page[T]{}, translate(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return tenants.Page[T]{}, translate(err)
	}
	return finishPage(items, limit, backward, key), nil
}
