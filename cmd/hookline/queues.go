package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/worker"
)

const queuesUsage = `usage:
  hookline queues                         counts per queue and the oldest pending task's age
  hookline queues dead [--limit N]        archived (dead) deliveries
  hookline queues requeue --all|TASK_ID…  give dead deliveries one more try`

// runQueues is the operator's view of the delivery queue through asynq's
// Inspector.
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
	in := worker.NewInspector(asynq.NewInspectorFromRedisClient(rc), store.New(db, nil, nil), cfg.Queue)

	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "":
		stats, err := in.Stats()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "QUEUE\tPENDING\tACTIVE\tSCHEDULED\tRETRY\tARCHIVED\tOLDEST PENDING")
		for _, s := range stats {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Queue, s.Pending, s.Active, s.Scheduled, s.Retry, s.Archived, s.OldestPending.Round(time.Millisecond))
		}
		return tw.Flush()
	case "dead":
		fs := newFlagSet("queues dead", stderr)
		limit := fs.Int("limit", 50, "how many to list")
		if err := fs.Parse(args); err != nil {
			return &usageError{queuesUsage}
		}
		dead, err := in.Dead(*limit)
		if err != nil {
			return err
		}
		if len(dead) == 0 {
			fmt.Fprintln(stdout, "no dead deliveries")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TASK\tTENANT\tDELIVERY\tFAILED AT\tLAST ERROR")
		for _, d := range dead {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", d.TaskID, d.TenantID, d.DeliveryID, d.FailedAt.UTC().Format(time.RFC3339), oneLine(d.LastError))
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
