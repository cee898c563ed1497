package testenv

import (
	"context"

	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/worker"
)

// consoleLanes is the adapter `hookline` wires between the worker's lane
// inspector and the console (cmd/hookline/wire_console.go), repeated here
// because a test stack cannot import package main.
type consoleLanes struct{ in *worker.Inspector }

func (l consoleLanes) Throttled(ctx context.Context, tenantID string, k int) (console.ThrottledLanes, error) {
	th, err := l.in.Throttled(ctx, tenantID, k)
	if err != nil {
		return console.ThrottledLanes{}, err
	}
	out := console.ThrottledLanes{Total: th.Total, Parked: th.Parked}
	for _, s := range th.Top {
		out.Top = append(out.Top, console.LaneState{EndpointID: s.EndpointID, TenantID: s.TenantID,
			InFlight: s.InFlight, Limit: s.Limit, Cap: s.Cap, Waiting: s.Waiting, AtOneSince: s.AtOneSince})
	}
	return out, nil
}
