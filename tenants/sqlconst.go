package tenants

import (
	"strconv"
	"strings"
)

// sqlConst writes the domain's named constants into SQL text, so that no
// statement spells a status or trigger as a bare number: `{pending}` becomes
// the StatusPending literal, and so on. It runs once per statement, at
// package initialisation.
func sqlConst(q string) string { return sqlConstReplacer.Replace(q) }

var sqlConstReplacer = strings.NewReplacer(
	"{success}", lit(int(StatusSuccess)),
	"{pending}", lit(int(StatusPending)),
	"{fail}", lit(int(StatusFail)),
	"{sending}", lit(int(StatusSending)),
	"{canceled}", lit(int(StatusCanceled)),
	"{scheduled}", lit(int(TriggerScheduled)),
	"{manual}", lit(int(TriggerManual)),
)

func lit(n int) string { return strconv.Itoa(n) }

// SQLConst is sqlConst for the packages above this one (billing's usage
// queries), so they too name statuses instead of numbering them.
func SQLConst(q string) string { return sqlConst(q) }

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
