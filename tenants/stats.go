package tenants

import "time"

// MaxStatsWindow bounds the window of application usage statistics: the
// longest a payload is kept.
const MaxStatsWindow = 90 * 24 * time.Hour

// AppUsage is one application's message count over a window.
type AppUsage struct {
	AppID    string
	UID      *string
	Messages int64
}

// EventTypeUsage is how much one event type was used over a window: by
// how many messages, in how many applications, and how many live
// endpoints subscribe to it by name.
type EventTypeUsage struct {
	Name        string
	Messages    int64
	Apps        int64
	Subscribers int64
}
