package console

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

type bucketOut struct {
	Start     time.Time `json:"start"`
	Succeeded int64     `json:"succeeded"`
	Failed    int64     `json:"failed"`
}

type seriesOut struct {
	// StepSeconds is each bucket's width.
	StepSeconds int64       `json:"stepSeconds"`
	Buckets     []bucketOut `json:"buckets"`
	Succeeded   int64       `json:"succeeded"`
	Failed      int64       `json:"failed"`
	// SuccessRate is succeeded / (succeeded + failed); null without
	// attempts.
	SuccessRate *float64 `json:"successRate"`
}

type troubledOut struct {
	ID           string     `json:"id"`
	AppID        string     `json:"appId"`
	AppName      string     `json:"appName"`
	URL          string     `json:"url"`
	Description  string     `json:"description"`
	Disabled     bool       `json:"disabled"`
	FailingSince *time.Time `json:"failingSince"`
}

type pendingOut struct {
	Pending int64 `json:"pending"`
	// OldestCreatedAt is when the oldest pending delivery was made;
	// null when none waits.
	OldestCreatedAt *time.Time `json:"oldestCreatedAt"`
	NextAttemptAt   *time.Time `json:"nextAttemptAt"`
}

type overviewOut struct {
	Hour      seriesOut     `json:"hour"`
	Day       seriesOut     `json:"day"`
	Troubled  []troubledOut `json:"troubledEndpoints"`
	Pending   pendingOut    `json:"queue"`
	Generated time.Time     `json:"generatedAt"`
}

func toSeries(bs []tenants.AttemptBucket, step time.Duration) seriesOut {
	out := seriesOut{StepSeconds: int64(step / time.Second), Buckets: make([]bucketOut, 0, len(bs))}
	for _, b := range bs {
		out.Buckets = append(out.Buckets, bucketOut{Start: b.Start.UTC(), Succeeded: b.Succeeded, Failed: b.Failed})
		out.Succeeded += b.Succeeded
		out.Failed += b.Failed
	}
	if n := out.Succeeded + out.Failed; n > 0 {
		r := float64(out.Succeeded) / float64(n)
		out.SuccessRate = &r
	}
	return out
}

// maxTroubled bounds the overview's list of failing and disabled
// endpoints; the applications page has the rest.
const maxTroubled = 50

// overview answers the console's first page: attempts per minute over the
// last hour and per hour over the last day, the endpoints in trouble
// across applications, and the tenant's share of the delivery queue.
func (s *Server) overview(c *gin.Context) error {
	ctx := c.Request.Context()
	tid := tenantOf(c)
	now := s.d.Store.Now()
	hour, err := s.d.Store.FindAttemptBuckets(ctx, tid, now.Add(-59*time.Minute), time.Minute)
	if err != nil {
		return err
	}
	day, err := s.d.Store.FindAttemptBuckets(ctx, tid, now.Add(-23*time.Hour), time.Hour)
	if err != nil {
		return err
	}
	eps, err := s.d.Store.FindTroubledEndpoints(ctx, tid, maxTroubled)
	if err != nil {
		return err
	}
	pend, err := s.d.Store.FindPendingSummary(ctx, tid)
	if err != nil {
		return err
	}
	out := overviewOut{Hour: toSeries(hour, time.Minute), Day: toSeries(day, time.Hour), Troubled: make([]troubledOut, 0, len(eps)),
		Pending:   pendingOut{Pending: pend.Pending, OldestCreatedAt: utcPtr(pend.OldestCreated), NextAttemptAt: utcPtr(pend.NextAttemptAt)},
		Generated: now}
	for _, e := range eps {
		out.Troubled = append(out.Troubled, troubledOut{ID: e.ID, AppID: e.AppID, AppName: e.AppName, URL: e.URL,
			Description: e.Description, Disabled: e.Disabled, FailingSince: utcPtr(e.FailingSince)})
	}
	c.JSON(http.StatusOK, out)
	return nil
}
