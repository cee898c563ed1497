package tenants

import "time"

// MaxStatsWindow bounds the window of application usage statistics: the
// longest a payload is kept.
const MaxStatsWindow = 90 * 24 * time.Hour

// AppUsage is one application's message count over a window, and what
// its destinations did then.
type AppUsage struct {
	AppID    string
	UID      *string
	Messages int64
	// Destinations is what the application's destinations delivered and
	// attempted over the window.
	Destinations DestinationUsage
}

// DestinationUsage is what destinations delivered and attempted over a
// window.
type DestinationUsage struct {
	// Delivered counts messages accepted in a FIFO or RabbitMQ batch, or
	// returned by a poll for the first time: billable units, like an
	// endpoint's successful deliveries.
	Delivered int64
	// Attempts counts the batches sent to FIFO endpoints and RabbitMQ,
	// whatever their outcome; Failed those that failed.
	Attempts, Failed int64
}

// EventTypeUsage is how much one event type was used over a window: by
// how many messages, in how many applications, and how many live
// endpoints and destinations subscribe to it by name.
type EventTypeUsage struct {
	Name        string
	Messages    int64
	Apps        int64
	Subscribers int64
}
