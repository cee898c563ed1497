package tenants_test

import (
	"testing"
	"time"

	"github.com/hookline/hookline/tenants"
)

// TestDeliveryState_State names a delivery's state the way the portal's
// and the console's status columns show it.
func TestDeliveryState_State(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	for _, tc := range []struct {
		name string
		d    tenants.DeliveryState
		want string
	}{
		{"Succeeded", tenants.DeliveryState{Status: tenants.StatusSuccess}, "succeeded"},
		{"Failed", tenants.DeliveryState{Status: tenants.StatusFail}, "failed"},
		{"Sending", tenants.DeliveryState{Status: tenants.StatusSending}, "sending"},
		{"Canceled", tenants.DeliveryState{Status: tenants.StatusCanceled}, "canceled"},
		{"PendingNoTime", tenants.DeliveryState{Status: tenants.StatusPending}, "pending"},
		{"PendingDue", tenants.DeliveryState{Status: tenants.StatusPending, NextAttemptAt: at(-time.Second)}, "pending"},
		{"PendingWithinSlack", tenants.DeliveryState{Status: tenants.StatusPending, NextAttemptAt: at(tenants.ScheduledSlack)}, "pending"},
		{"Scheduled", tenants.DeliveryState{Status: tenants.StatusPending, NextAttemptAt: at(time.Minute)}, "scheduled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.d.State(now); got != tc.want {
				t.Errorf("State = %q, want %q", got, tc.want)
			}
		})
	}
}
