package tenants

import "time"

// The tables that grow with traffic are range-partitioned on their ids,
// which carry time (migration 0012): a partition holds the rows created in
// one slice of time, [Start, End), and the three tables are cut at the
// same instants, so a slice's messages, deliveries and attempts go
// together. Package storage holds the policy (how far ahead, when to
// drop); the store holds the SQL.

// DeliveryEpoch is where delivery ids' seconds count from (2020-01-01 UTC):
// a delivery's id is its second since then << 22, and 22 bits of a
// sequence, so ids sort by time (to the second) and a lookup by id prunes
// to one partition.
const DeliveryEpoch = 1_577_836_800

// DeliveryIDFloor returns the smallest delivery id of instant t.
func DeliveryIDFloor(t time.Time) int64 { return (t.Unix() - DeliveryEpoch) << 22 }

// DeliveryIDTime returns the second in which delivery id was created (ids
// made before migration 0012 carry no time: they read as 2020-01-01).
func DeliveryIDTime(id int64) time.Time { return time.Unix(id>>22+DeliveryEpoch, 0).UTC() }

// PartitionedTables are the partitioned tables, in the order a slice is
// dropped (attempts first, messages last: a reader never finds an
// attempt whose message is gone while its partition still exists).
var PartitionedTables = []string{"attempts", "deliveries", "messages"}

// Partition is one partition of a partitioned table.
type Partition struct {
	Table string // messages, deliveries or attempts
	Name  string
	// Default is the table's DEFAULT partition: rows outside every slice
	// (maintenance fell behind) land there.
	Default bool
	// Start and End bound the slice; Start is zero for the first
	// partition made by migration 0012 (every row from before it).
	Start, End time.Time
	// Bytes is the partition's size with its indexes and TOAST; Rows
	// PostgreSQL's estimate of its live rows (-1: unknown).
	Bytes int64
	Rows  int64
}

// Legacy reports whether p is the partition that holds everything from
// before the table was partitioned.
func (p Partition) Legacy() bool { return !p.Default && p.Start.IsZero() }

// PartitionName is the name of table's partition starting at start: the
// UTC day, and the time of day when slices are shorter than a day.
func PartitionName(table string, start time.Time, width time.Duration) string {
	start = start.UTC()
	if width%(24*time.Hour) == 0 {
		return table + "_p" + start.Format("20060102")
	}
	return table + "_p" + start.Format("20060102_150405")
}

// SliceHold says why a slice of time may not be dropped yet; empty when it
// may.
type SliceHold string

// Why a slice is kept past its retention.
const (
	HoldNone    SliceHold = ""
	HoldPending SliceHold = "pending deliveries"
	HoldBilling SliceHold = "usage not yet rolled up"
)

// DroppedPartition is a row of storage_drops.
type DroppedPartition struct {
	Name, Table    string
	Start          *time.Time
	End            time.Time
	Rows, Bytes    int64
	MaxSucceededAt *time.Time
	DroppedAt      time.Time
}
