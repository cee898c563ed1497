package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/worker"
)

const queuesUsage = `usage:
  hookline queues                         pending and overdue deliveries, and the fullest lanes
  hookline queues dead [--limit N]        deliveries that failed for good, latest first
  hookline queues requeue --all|ID…       give failed deliveries one more try`

// runQueues is the operator's view of the delivery queue: PostgreSQL's
// pending deliveries and the lanes in Redis.
func runQueues(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, db, err := commandDB(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer db.Close()
	rc, _, err := openRedis(cfg, 4, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		return explainUnreachable(nil, cfg, err)
	}
	in := worker.NewInspector(rc, store.New(db, nil, nil), cfg.Queue)
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "":
		st, err := in.Stats(ctx, cfg.SweepGrace, 10)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "queue %s: %d pending deliveries, %d overdue; %d lanes full with %d deliveries waiting\n",
			cfg.Queue, st.Pending, st.Overdue, st.Throttled.Total, st.Throttled.Parked)
		if len(st.Throttled.Top) == 0 {
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENDPOINT\tTENANT\tIN FLIGHT\tLIMIT\tCAP\tWAITING\tAT 1 SINCE")
		for _, l := range st.Throttled.Top {
			since := "-"
			if l.AtOneSince != nil {
				since = l.AtOneSince.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", l.EndpointID, l.TenantID, l.InFlight, l.Limit, l.Cap, l.Waiting, since)
		}
		return tw.Flush()
	case "dead":
		fs := newFlagSet("queues dead", stderr)
		limit := fs.Int("limit", 50, "how many to list")
		if err := fs.Parse(args); err != nil {
			return &usageError{queuesUsage}
		}
		dead, err := in.Dead(ctx, *limit)
		if err != nil {
			return err
		}
		if len(dead) == 0 {
			fmt.Fprintln(stdout, "no dead deliveries")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DELIVERY\tTENANT\tMESSAGE\tENDPOINT\tFAILED AT\tLAST ERROR")
		for _, d := range dead {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.TenantID, d.MsgID, d.EndpointID, d.FailedAt.UTC().Format(time.RFC3339), oneLine(d.LastError))
		}
		return tw.Flush()
	case "requeue":
		all := len(args) == 1 && args[0] == "--all"
		if !all && len(args) == 0 {
			return &usageError{queuesUsage}
		}
		var ids []string
		if !all {
			ids = args
		}
		n, err := in.Requeue(ctx, ids)
		fmt.Fprintf(stdout, "re-queued %d dead deliveries for one more try\n", n)
		return err
	}
	return &usageError{queuesUsage}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}
