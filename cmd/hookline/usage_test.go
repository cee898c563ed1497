package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/worker"
)

// TestUsage_PrintsWhatTheAPIAnswers: `hookline usage TENANT_ID` prints the
// tenant's deliveries per day and this month against its cap, as text and
// as JSON, and audits the usage table against the deliveries.
func TestUsage_PrintsWhatTheAPIAnswers(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	env := testSecrets(dsn)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tenant", "create", "--name", "Acme", "--json"}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut.String())
	}
	var tn struct{ ID string }
	if err := json.Unmarshal(out.Bytes(), &tn); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, dsn, 2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	for i := range 3 {
		if _, err := storetest.SQL(t, dsn).Exec(ctx, `INSERT INTO deliveries (tenant_id, app_id, msg_id, endpoint_id, trigger, status, created_at, updated_at, succeeded_at)
			VALUES ($1, 'app_x', $2, 'ep_x', 0, 0, $3, $3, $3)`, tn.ID, "msg_"+string(rune('a'+i)), now); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := billing.New(ctx, store.New(db, nil, nil), slog.New(slog.DiscardHandler), billing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPlan(ctx, tn.ID, billing.PlanChange{Plan: billing.PlanFree}); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if err := run(ctx, []string{"usage", tn.ID, "--audit"}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("usage: %v\n%s", err, errOut.String())
	}
	text := out.String()
	today := now.Format("2006-01-02")
	for _, want := range []string{"plan:     free, cap 10000 deliveries/month", ": 3 deliveries, 9997 remaining", today + "  3", "total", "audit:    every final hour"} {
		if !strings.Contains(text, want) {
			t.Errorf("usage output lacks %q:\n%s", want, text)
		}
	}

	out.Reset()
	if err := run(ctx, []string{"usage", tn.ID, "--json", "--since", today}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("usage --json: %v", err)
	}
	var rep usageReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("usage --json is not JSON: %v\n%s", err, out.String())
	}
	if len(rep.Data) != 1 || rep.Data[0].Date != today || rep.Data[0].Deliveries != 3 || rep.Period.Deliveries != 3 ||
		rep.Period.Cap == nil || *rep.Period.Cap != 10000 || rep.Period.Plan != "free" {
		t.Errorf("usage --json = %+v", rep)
	}

	var ue *usageError
	for _, args := range [][]string{{"usage"}, {"usage", "nope"}, {"usage", tn.ID, "--since", "yesterday"}} {
		if err := run(ctx, args, envMap(env), &bytes.Buffer{}, &bytes.Buffer{}); !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	if err := run(ctx, []string{"usage", "org_2abcdefghijklmnopqrstuvwxyz"}, envMap(env), &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no tenant") {
		t.Errorf("usage of a missing tenant: %v", err)
	}
}

// TestWireBilling_QuotaRoutesAndTasks: wireBilling gives the API its quota
// and billing, and the worker the two billing tasks on their schedules.
func TestWireBilling_QuotaRoutesAndTasks(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	env := testSecrets(dsn)
	env["HOOKLINE_BILLING_ROLLUP_INTERVAL"] = "2m"
	env["HOOKLINE_BILLING_GRACE"] = "3d"
	cfg, err := loadConfig(envMap(env), false, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BillingGrace != 72*time.Hour || cfg.BillingDefaultPlan != "pro" || cfg.BillingReportInterval != 5*time.Minute {
		t.Errorf("billing config = %v %q %v", cfg.BillingGrace, cfg.BillingDefaultPlan, cfg.BillingReportInterval)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, 2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &App{cfg: cfg, log: slog.New(slog.DiscardHandler), db: db, store: store.New(db, nil, nil)}
	var d api.Deps
	var w worker.Deps
	if err := a.wireBilling(ctx, &d, &w); err != nil {
		t.Fatal(err)
	}
	if d.Quota == nil || d.Billing == nil {
		t.Error("the API got no quota or billing")
	}
	if w.Handlers[billing.TaskRollup] == nil || w.Handlers[billing.TaskReport] == nil {
		t.Errorf("worker handlers = %v", w.Handlers)
	}
	want := []worker.Periodic{{Type: billing.TaskRollup, Every: 2 * time.Minute}, {Type: billing.TaskReport, Every: 5 * time.Minute}}
	if len(w.Periodic) != 2 || w.Periodic[0] != want[0] || w.Periodic[1] != want[1] {
		t.Errorf("periodic tasks = %+v, want %+v", w.Periodic, want)
	}

	a.cfg.BillingDefaultPlan = "gold"
	if err := a.wireBilling(ctx, &api.Deps{}, &worker.Deps{}); err == nil || !strings.Contains(err.Error(), "HOOKLINE_BILLING_DEFAULT_PLAN") ||
		!strings.Contains(err.Error(), "enterprise, free, pro") {
		t.Errorf("an unknown default plan: err = %v, want it named with the plans there are", err)
	}

	for name, v := range map[string]string{
		"HOOKLINE_BILLING_GRACE":     "soon",
		"HOOKLINE_STRIPE_SECRET_KEY": "sk_test_123", // without a price
	} {
		bad := testSecrets(dsn)
		bad[name] = v
		if _, err := loadConfig(envMap(bad), false, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "HOOKLINE_") {
			t.Errorf("%s=%s accepted: %v", name, v, err)
		}
	}
}
