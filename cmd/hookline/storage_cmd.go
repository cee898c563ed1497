package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hookline/hookline/storage"
	"github.com/hookline/hookline/store"
)

const storageUsage = "usage: hookline storage status [--json] | hookline storage maintain"

// runStorage prints the partitions of the tables that grow with traffic
// (status) or runs one maintenance pass now (maintain), as the periodic
// storage:maintain task does.
func runStorage(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "status" && args[0] != "maintain") {
		return &usageError{storageUsage}
	}
	fs := newFlagSet("storage "+args[0], stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return &usageError{storageUsage}
	}
	cfg, log, db, err := commandDB(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return err
	}
	s := store.New(db, nil, nil)
	s.SetRetentionPolicy(cfg.retentionPolicy())
	m := storage.New(s, log, cfg.storageOptions())
	if args[0] == "maintain" {
		res, err := m.Run(ctx)
		if err != nil {
			return err
		}
		if res.Skipped {
			fmt.Fprintln(stdout, "another process is maintaining storage right now; nothing done")
			return nil
		}
		fmt.Fprintf(stdout, "created %d partition(s), moved %d row(s) out of DEFAULT, dropped %d partition(s), %d slice(s) past retention kept\n",
			len(res.Created), res.Moved, len(res.Dropped), len(res.Held))
		return nil
	}
	st, err := m.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStorageStatus(stdout, st, m.Options())
	return nil
}

func printStorageStatus(w io.Writer, st storage.Status, o storage.Options) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tFROM\tTO\tSIZE\tROWS (est.)")
	var total int64
	for _, p := range st.Partitions {
		from, to := "…", "…"
		switch {
		case p.Default:
			from, to = "(default: rows outside every slice)", ""
		default:
			if !p.Start.IsZero() {
				from = p.Start.Format(time.RFC3339)
			} else {
				from = "… (before partitioning)"
			}
			to = p.End.Format(time.RFC3339)
		}
		rows := "?"
		if p.Default {
			rows = fmt.Sprint(st.DefaultRows[p.Table])
		} else if p.Rows >= 0 {
			rows = fmt.Sprint(p.Rows)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, from, to, humanSize(p.Bytes), rows)
		total += p.Bytes
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntotal %s in %d partitions; slices of %s, made %s ahead\n", humanSize(total), len(st.Partitions), humanDuration(o.Partition), humanDuration(o.Ahead))
	fmt.Fprintf(w, "longest retention in force: %s (slices ending before %s go)\n", humanDuration(st.Retention), st.Now.Add(-st.Retention).Format(time.RFC3339))
	if !st.NextDrop.IsZero() {
		fmt.Fprintf(w, "next drop: %s (the slice ending %s)\n", st.NextDrop.Format(time.RFC3339), st.NextDrop.Add(-st.Retention).Format(time.RFC3339))
	}
	for _, h := range st.Held {
		fmt.Fprintf(w, "kept past retention: %s\n", h)
	}
	for _, d := range st.Dropped {
		fmt.Fprintf(w, "dropped %s at %s (%s, ~%d rows)\n", d.Name, d.DroppedAt.UTC().Format(time.RFC3339), humanSize(d.Bytes), d.Rows)
	}
}

func humanSize(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
