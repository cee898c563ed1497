package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/migrations"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/tenants"
)

const demoTenantName = "Demo tenant"

// runDev prepares a first-run environment — database, schema, a demo tenant
// with a fresh API key — prints how to use it, then runs every role.
func runDev(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	env := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		if k == "HOOKLINE_ALLOW_PRIVATE_TARGETS" {
			return "true" // local receivers are the point of a dev run
		}
		if k == "HOOKLINE_LOG_FORMAT" {
			return "text"
		}
		return ""
	}
	cfg, err := loadConfig(env, true, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if _, err := tenants.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return explainUnreachable(err, cfg, nil)
	}
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("HOOKLINE_REDIS_URL: %w", err)
	}
	rc := redis.NewClient(ropt)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = rc.Ping(pctx).Err()
	cancel()
	rc.Close()
	if err != nil {
		return explainUnreachable(nil, cfg, err)
	}
	db, err := tenants.OpenDB(ctx, cfg.DatabaseURL, 4, log)
	if err != nil {
		return explainUnreachable(err, cfg, nil)
	}
	sqlDB := stdlib.OpenDBFromPool(db.Pool)
	_, err = migrations.Up(ctx, sqlDB, log)
	sqlDB.Close()
	if err != nil {
		db.Close()
		return err
	}
	key, tenantID, appID, err := ensureDemoTenant(ctx, db)
	db.Close()
	if err != nil {
		return err
	}
	portalToken, _, err := portal.NewAppTokens(cfg.JWTSecret, nil).Mint(tenants.AppToken{TenantID: tenantID, AppID: appID}, 7*24*time.Hour)
	if err != nil {
		return err
	}
	base := cfg.PublicURL
	fmt.Fprintf(stdout, `
Hookline is starting at %[1]s

  tenant:   %[2]s (%[3]s)
  api key:  %[4]s
  portal:   %[1]s/portal/#key=%[6]s
            (the customer portal of the demo application "demo-app", valid 7 days)

Try it:

  curl -s -X POST %[1]s/api/v1/app -H "Authorization: Bearer %[4]s" \
       -H "Content-Type: application/json" -d '{"name": "My first app", "uid": "my-first-app"}'

Operator API token (HOOKLINE_ADMIN_TOKEN) is in %[5]s.

`, base, tenantID, demoTenantName, key, devSecretsFile(getenv), portalToken)
	app, err := newApp(ctx, cfg, log, roleAPI|roleWorker)
	if err != nil {
		return err
	}
	return app.Run(ctx)
}

// ensureDemoTenant finds or creates the demo tenant and its demo
// application, and mints a new API key for this run (keys are stored
// hashed, so an old one cannot be shown).
func ensureDemoTenant(ctx context.Context, db *tenants.DB) (key, tenantID, appID string, err error) {
	store := tenants.NewStore(db, nil, nil)
	t, err := store.FindTenantByName(ctx, demoTenantName)
	if errors.Is(err, tenants.ErrNotFound) {
		t, err = store.CreateTenant(ctx, demoTenantName)
	}
	if err != nil {
		return "", "", "", err
	}
	_, key, err = store.CreateAPIKey(ctx, t.ID, "dev "+time.Now().UTC().Format(time.RFC3339))
	if err != nil {
		return "", "", "", err
	}
	uid := "demo-app"
	a, err := store.FindApplication(ctx, t.ID, uid)
	if errors.Is(err, tenants.ErrNotFound) {
		a, err = store.CreateApplication(ctx, t.ID, tenants.ApplicationInput{Name: "Demo application", UID: &uid})
	}
	if err != nil {
		return "", "", "", err
	}
	return key, t.ID, a.ID, nil
}
