package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/tenants"
)

const usageUsage = "usage: hookline usage TENANT_ID [--since DATE] [--until DATE] [--json] [--audit]"

// runUsage prints a tenant's billable deliveries per day and its current
// period against its plan's cap — what GET /api/v1/usage answers the
// tenant — read from the same tables by the same code. --audit also
// recounts the window's final hours from the delivery records and lists
// any that differ from the usage table.
func runUsage(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &usageError{usageUsage}
	}
	tenantID := args[0]
	fs := newFlagSet("usage", stderr)
	sinceArg := fs.String("since", "", "first day, YYYY-MM-DD or RFC 3339 (default: the start of this month)")
	untilArg := fs.String("until", "", "end of the window, exclusive, YYYY-MM-DD or RFC 3339 (default: the end of today)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	audit := fs.Bool("audit", false, "recount the window's final hours from the deliveries and list differences")
	if err := fs.Parse(args[1:]); err != nil {
		return &usageError{err.Error() + "\n" + usageUsage}
	}
	if fs.NArg() > 0 {
		return &usageError{usageUsage}
	}
	if !tenants.IsID(tenants.PrefixTenant, tenantID) {
		return &usageError{fmt.Sprintf("%q is not a tenant id (they look like org_2abc…)\n%s", tenantID, usageUsage)}
	}
	since, err := parseDay("--since", *sinceArg)
	if err != nil {
		return err
	}
	until, err := parseDay("--until", *untilArg)
	if err != nil {
		return err
	}
	cfg, log, db, err := commandDB(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return err
	}
	cfg.StripeSecretKey = "" // reading usage never talks to Stripe
	svc, err := newBillingService(ctx, cfg, store.New(db, nil, nil), log)
	if err != nil {
		return err
	}
	u, err := svc.Usage(ctx, tenantID, since, until)
	if errors.Is(err, tenants.ErrNotFound) {
		return fmt.Errorf("no tenant %s", tenantID)
	}
	if err != nil {
		return err
	}
	var diffs []billing.AuditRow
	if *audit {
		if diffs, err = svc.Store().Audit(ctx, tenantID, u.Since, u.Until); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(toUsageReport(u, diffs, *audit))
	}
	printUsage(stdout, u, diffs, *audit)
	return nil
}

// parseDay reads a date (midnight UTC) or an RFC 3339 time; empty is zero.
func parseDay(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, &usageError{fmt.Sprintf("%s must be a date (2006-01-02) or an RFC 3339 time, got %q\n%s", flag, v, usageUsage)}
	}
	return t, nil
}

type usageReportAudit struct {
	Hour             time.Time `json:"hour"`
	Stored           int64     `json:"stored"`
	Recount          int64     `json:"recount"`
	ReportedToStripe bool      `json:"reportedToStripe"`
}

// usageReport is the JSON of `hookline usage --json`: the usage API's
// answer, with the tenant and, when asked for, the audit.
type usageReport struct {
	TenantID string `json:"tenantId"`
	api.UsageOut
	Audit []usageReportAudit `json:"audit,omitempty"`
}

func toUsageReport(u billing.Usage, diffs []billing.AuditRow, audit bool) usageReport {
	r := usageReport{TenantID: u.TenantID, UsageOut: api.ToUsageOut(u)}
	if audit {
		r.Audit = []usageReportAudit{}
		for _, d := range diffs {
			r.Audit = append(r.Audit, usageReportAudit{Hour: d.Hour, Stored: d.Stored, Recount: d.Recount, ReportedToStripe: d.ReportedToStripe})
		}
	}
	return r
}

func printUsage(w io.Writer, u billing.Usage, diffs []billing.AuditRow, audit bool) {
	a := u.Account
	plan := a.Plan.ID
	if a.PlanIsDefault {
		plan += " (default)"
	}
	limit := "no cap"
	if c := u.Period.Cap; c != nil {
		limit = fmt.Sprintf("cap %d deliveries/month", *c)
	}
	fmt.Fprintf(w, "tenant:   %s\nplan:     %s, %s\n", u.TenantID, plan, limit)
	fmt.Fprintf(w, "period:   %s to %s: %d deliveries", u.Period.Start.Format("2006-01-02"), u.Period.End.Format("2006-01-02"), u.Period.Deliveries)
	if r := u.Period.Remaining(); r != nil {
		fmt.Fprintf(w, ", %d remaining", *r)
	}
	if u.Period.Exceeded() {
		fmt.Fprint(w, " (cap reached: new messages are refused)")
	}
	fmt.Fprintln(w)
	switch {
	case u.PaymentRequired:
		fmt.Fprintf(w, "payment:  required (past due since %s): new messages are refused\n", a.PastDueSince.Format(time.RFC3339))
	case a.Plan.Paid && a.PastDueSince != nil:
		fmt.Fprintf(w, "payment:  past due since %s (within the grace period)\n", a.PastDueSince.Format(time.RFC3339))
	default:
		fmt.Fprintln(w, "payment:  ok")
	}
	if a.StripeCustomerID != "" {
		fmt.Fprintf(w, "stripe:   customer %s, subscription %s (%s)\n", a.StripeCustomerID, orNone(a.StripeSubscriptionID), orNone(a.SubscriptionStatus))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "date\tdeliveries")
	var total int64
	for _, d := range u.Days {
		fmt.Fprintf(tw, "%s\t%d\n", d.Day.Format("2006-01-02"), d.Deliveries)
		total += d.Deliveries
	}
	fmt.Fprintf(tw, "total\t%d\n", total)
	_ = tw.Flush()
	if audit {
		fmt.Fprintln(w)
		if len(diffs) == 0 {
			fmt.Fprintln(w, "audit:    every final hour of the window matches a recount of the deliveries")
			return
		}
		fmt.Fprintf(w, "audit:    %d final hour(s) differ from a recount of the deliveries:\n", len(diffs))
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "hour\tstored\trecount\tsent to stripe")
		for _, d := range diffs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%v\n", d.Hour.Format("2006-01-02T15Z"), d.Stored, d.Recount, d.ReportedToStripe)
		}
		_ = tw.Flush()
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
