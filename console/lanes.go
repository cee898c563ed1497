package console

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// Lanes reads the delivery lanes (issue 20) for the throttled-endpoints
// view; main adapts the worker's lane inspector to it, so that the
// console does not depend on the worker.
type Lanes interface {
	// Throttled returns the lanes of tenantID that are full with
	// deliveries waiting: how many, the deliveries parked in them, and up
	// to k of them, most waiting first. tenantID is never "" here.
	Throttled(ctx context.Context, tenantID string, k int) (ThrottledLanes, error)
}

// ThrottledLanes are a tenant's lanes held to their limit.
type ThrottledLanes struct {
	// Total is how many lanes are throttled, Parked how many deliveries
	// wait in them; Top holds at most the k asked for.
	Total, Parked int
	Top           []LaneState
}

// LaneState is one endpoint's lane.
type LaneState struct {
	EndpointID, TenantID string
	// InFlight is how many attempts hold a slot; Limit what the lane
	// allows now (it adapts to the receiver), Cap the most it allows.
	InFlight, Limit, Cap int
	// Waiting is how many deliveries wait for a slot.
	Waiting int
	// AtOneSince, when set, is since when congestion has held the lane
	// at one attempt at a time (below its cap).
	AtOneSince *time.Time
}

// maxThrottled bounds the view's list; the count covers the rest.
const maxThrottled = 100

type throttledEndpointOut struct {
	ID          string `json:"id"`
	AppID       string `json:"appId"`
	AppName     string `json:"appName"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// MaxConcurrency is the endpoint's own cap (null: the default).
	MaxConcurrency *int       `json:"maxConcurrency"`
	Limit          int        `json:"limit"`
	Cap            int        `json:"cap"`
	InFlight       int        `json:"inFlight"`
	Waiting        int        `json:"waiting"`
	AtOneSince     *time.Time `json:"atOneSince"`
}

type throttledOut struct {
	// Available is false when this server cannot read the lanes (no
	// Redis in its role); the rest is then empty.
	Available bool                   `json:"available"`
	Total     int                    `json:"total"`
	Parked    int                    `json:"parked"`
	Endpoints []throttledEndpointOut `json:"endpoints"`
	Generated time.Time              `json:"generatedAt"`
}

// throttled answers the throttled-endpoints view: the tenant's endpoints
// whose lane is full with deliveries waiting, with their application.
// Only the tenant's own lanes are asked for, and a lane whose endpoint the
// store does not find under the tenant (deleted since) is left out.
func (s *Server) throttled(c *gin.Context) error {
	ctx := c.Request.Context()
	tid := tenantOf(c)
	out := throttledOut{Endpoints: []throttledEndpointOut{}, Generated: s.d.Store.Now().UTC()}
	if s.d.Lanes == nil || tid == "" {
		c.JSON(http.StatusOK, out)
		return nil
	}
	th, err := s.d.Lanes.Throttled(ctx, tid, maxThrottled)
	if err != nil {
		return err
	}
	out.Available, out.Total, out.Parked = true, th.Total, th.Parked
	ids := make([]string, 0, len(th.Top))
	for _, l := range th.Top {
		if l.TenantID == tid {
			ids = append(ids, l.EndpointID)
		}
	}
	eps, err := s.d.Store.FindEndpointsByID(ctx, tid, ids)
	if err != nil {
		return err
	}
	byID := make(map[string]tenants.Endpoint, len(eps))
	appIDs := make([]string, 0, len(eps))
	for _, e := range eps {
		byID[e.ID] = e
		appIDs = append(appIDs, e.AppID)
	}
	names, err := s.d.Store.FindApplicationNames(ctx, tid, appIDs)
	if err != nil {
		return err
	}
	for _, l := range th.Top {
		e, ok := byID[l.EndpointID]
		if !ok || l.TenantID != tid {
			continue
		}
		out.Endpoints = append(out.Endpoints, throttledEndpointOut{
			ID: e.ID, AppID: e.AppID, AppName: names[e.AppID], URL: e.URL, Description: e.Description,
			MaxConcurrency: e.MaxConcurrency, Limit: l.Limit, Cap: l.Cap, InFlight: l.InFlight, Waiting: l.Waiting,
			AtOneSince: utcPtr(l.AtOneSince),
		})
	}
	c.JSON(http.StatusOK, out)
	return nil
}
