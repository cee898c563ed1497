package store

import (
	"strconv"
	"strings"

	"github.com/hookline/hookline/tenants"
)

// sqlConst writes the domain's named constants into SQL text, so that no
// statement spells a status or trigger as a bare number: `{pending}` becomes
// the StatusPending literal, and so on. It runs once per statement, at
// package initialisation.
func sqlConst(q string) string { return sqlConstReplacer.Replace(q) }

var sqlConstReplacer = strings.NewReplacer(
	"{success}", lit(int(tenants.StatusSuccess)),
	"{pending}", lit(int(tenants.StatusPending)),
	"{fail}", lit(int(tenants.StatusFail)),
	"{sending}", lit(int(tenants.StatusSending)),
	"{canceled}", lit(int(tenants.StatusCanceled)),
	"{scheduled}", lit(int(tenants.TriggerScheduled)),
	"{manual}", lit(int(tenants.TriggerManual)),
)

func lit(n int) string { return strconv.Itoa(n) }

// fanoutRule is the one statement of which endpoints receive a new
// message: the endpoint is live (not deleted, not disabled) and its filters
// accept the message (filterRule). e is the endpoints alias; eventType and
// channels are SQL expressions of the message's type (text) and channels
// (jsonb array or NULL).
func fanoutRule(e, eventType, channels string) string {
	return e + `.deleted_at IS NULL AND NOT ` + e + `.disabled AND ` + filterRule(e, eventType, channels)
}

// filterRule is whether an endpoint's filters accept a message: its
// event-type filter is absent or names the message's type, and its channel
// filter is absent or shares a channel with the message.
func filterRule(e, eventType, channels string) string {
	return `(` + e + `.event_types IS NULL OR ` + e + `.event_types ? ` + eventType + `)
	AND (` + e + `.channels IS NULL OR (` + channels + ` IS NOT NULL
		AND ` + e + `.channels ?| ARRAY(SELECT jsonb_array_elements_text(` + channels + `))))`
}
