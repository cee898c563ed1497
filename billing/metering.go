package billing

import "time"

// RollupResult says what a rollup did.
type RollupResult struct {
	// From and CountedThrough bound the deliveries recounted:
	// succeeded_at in [From, CountedThrough).
	From, CountedThrough time.Time
	// Rows is how many hourly rows were written (final rows never are).
	Rows int64
}

// DayUsage is one UTC day's billable deliveries.
type DayUsage struct {
	Day        time.Time
	Deliveries int64
}

// HourUsage is one row of usage_hourly.
type HourUsage struct {
	TenantID     string
	Hour         time.Time
	Deliveries   int64
	Final        bool
	ReportStatus *string
}

// AuditRow is an hour whose stored final count differs from a recount of
// the deliveries.
type AuditRow struct {
	Hour             time.Time
	Stored, Recount  int64
	ReportedToStripe bool
}
