package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

type appUsageStatsIn struct {
	AppIDs []string  `json:"appIds"`
	Since  *bodyTime `json:"since"`
	Until  *bodyTime `json:"until"`
}

// appUsageStatsOut is the Svix AppUsageStatsOut: the task, plus the app
// ids that named no application.
type appUsageStatsOut struct {
	taskOut
	UnresolvedAppIDs []string `json:"unresolvedAppIds"`
}

// appUsageOut is one application's line of the application.stats task.
// Svix's task data is a free-form object, so Hookline adds its
// destinations: destinationMessages are the messages its FIFO and
// RabbitMQ destinations delivered (accepted batches) or its polling
// endpoints handed out for the first time — billable like an endpoint's
// successful deliveries — and destinationAttempts/
// failedDestinationAttempts the batches sent and those that failed.
type appUsageOut struct {
	AppID                     string  `json:"appId"`
	AppUID                    *string `json:"appUid"`
	Messages                  int64   `json:"messages"`
	DestinationMessages       int64   `json:"destinationMessages"`
	DestinationAttempts       int64   `json:"destinationAttempts"`
	FailedDestinationAttempts int64   `json:"failedDestinationAttempts"`
}

// maxStatsApps bounds the application ids one statistics request names.
const maxStatsApps = 1000

// appUsageStats runs the application.stats task: messages per application
// over [since, until), in the task's data as
// {"since","until","apps":[{"appId","appUid","messages","destinationMessages",
// "destinationAttempts","failedDestinationAttempts"}]}.
func (s *Server) appUsageStats(c *gin.Context) error {
	var in appUsageStatsIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Since == nil {
		return tenants.Invalid("since", "field required")
	}
	if in.Until == nil { // Svix requires it; now is the obvious default
		now := s.store.Now()
		in.Until = &bodyTime{now}
	}
	if len(in.AppIDs) > maxStatsApps {
		return tenants.Invalid("appIds", "at most 1000 applications")
	}
	tenantID := principal(c).TenantID
	var unresolved []string
	t, err := s.runTask(c, tenantID, tenants.TaskApplicationStats, func(ctx context.Context) (any, error) {
		usage, unres, err := s.store.AppUsageStats(ctx, tenantID, in.AppIDs, in.Since.Time, in.Until.Time)
		if err != nil {
			return nil, err
		}
		unresolved = unres
		apps := make([]appUsageOut, 0, len(usage))
		for _, u := range usage {
			apps = append(apps, appUsageOut{AppID: u.AppID, AppUID: u.UID, Messages: u.Messages,
				DestinationMessages: u.Destinations.Delivered, DestinationAttempts: u.Destinations.Attempts,
				FailedDestinationAttempts: u.Destinations.Failed})
		}
		return map[string]any{"since": in.Since.UTC(), "until": in.Until.UTC(), "apps": apps}, nil
	})
	if err != nil {
		return err
	}
	if unresolved == nil {
		unresolved = []string{}
	}
	c.JSON(http.StatusAccepted, appUsageStatsOut{taskOut: toTaskOut(t), UnresolvedAppIDs: unresolved})
	return nil
}

// eventTypeAggregateWindow is how far back the event-type aggregation
// counts messages.
const eventTypeAggregateWindow = 28 * 24 * time.Hour

type eventTypeUsageOut struct {
	Name        string `json:"name"`
	Messages    int64  `json:"messages"`
	Apps        int64  `json:"apps"`
	Subscribers int64  `json:"subscribers"`
}

// aggregateEventTypes runs the event-type.aggregate task: every event type
// the tenant's messages used in the last 28 days or an endpoint or a
// destination subscribes to (subscribers counts both), in the task's data
// as {"since","eventTypes":[{"name","messages","apps","subscribers"}]}.
func (s *Server) aggregateEventTypes(c *gin.Context) error {
	tenantID := principal(c).TenantID
	return s.answerTask(c, tenantID, tenants.TaskEventTypeAggregation, func(ctx context.Context) (any, error) {
		since := s.store.Now().Add(-eventTypeAggregateWindow)
		usage, err := s.store.AggregateEventTypes(ctx, tenantID, since)
		if err != nil {
			return nil, err
		}
		out := make([]eventTypeUsageOut, 0, len(usage))
		for _, u := range usage {
			out = append(out, eventTypeUsageOut(u))
		}
		return map[string]any{"since": since, "eventTypes": out}, nil
	})
}
