package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/tenants"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "down" && args[0] != "status") {
		return &usageError{"usage: hookline migrate up|down|status"}
	}
	cfg, log, db, err := commandDB(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "up":
		n, err := db.MigrateUp(ctx, log)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s); the schema is current\n", n)
		// The partitions of today and the next days, so the first writes
		// need no DEFAULT partition (workers keep them coming).
		if err := maintainAfterMigrating(ctx, db, cfg, log); err != nil {
			return err
		}
	case "down":
		if err := db.MigrateDown(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "rolled back the latest migration")
	case "status":
		return db.MigrationStatus(ctx, stdout)
	}
	return nil
}

// commandDB loads the config and connects to PostgreSQL with a small pool,
// for the one-shot commands. Commands that neither sign nor seal pass
// needSecrets false and run without HOOKLINE_JWT_SECRET and the encryption
// key. The caller closes the DB.
func commandDB(ctx context.Context, getenv func(string) string, stderr io.Writer, needSecrets bool) (Config, *slog.Logger, *store.DB, error) {
	cfg, err := loadConfig(withDevSecrets(getenv, stderr), false, stderr)
	if err != nil && (needSecrets || !onlySecretsMissing(err)) {
		return cfg, nil, nil, err
	}
	log := newLogger(cfg, stderr)
	db, err := store.Open(ctx, cfg.DatabaseURL, 2, log, cfg.dbOptions()...)
	if err != nil {
		return cfg, log, nil, explainUnreachable(err, cfg, nil)
	}
	return cfg, log, db, nil
}

// onlySecretsMissing reports whether a config error concerns nothing but
// secrets, which commands that neither sign nor seal can do without.
func onlySecretsMissing(err error) bool {
	var ce *configError
	if !errors.As(err, &ce) {
		return false
	}
	for _, p := range ce.problems {
		if !secretProblem(p) {
			return false
		}
	}
	return true
}

func secretProblem(p string) bool {
	for _, name := range []string{"HOOKLINE_JWT_SECRET", "HOOKLINE_ENCRYPTION_KEY"} {
		if len(p) >= len(name) && p[:len(name)] == name {
			return true
		}
	}
	return false
}

func runTenant(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "revoke-tokens" {
		return runRevokeTokens(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		return &usageError{"usage: hookline tenant create --name NAME [--json] | hookline tenant revoke-tokens TENANT_ID [--at RFC3339]"}
	}
	fs := newFlagSet("tenant create", stderr)
	name := fs.String("name", "", "the tenant's name")
	asJSON := fs.Bool("json", false, "print one JSON object {id, apiKey, jwt}")
	if err := fs.Parse(args[1:]); err != nil {
		return &usageError{err.Error()}
	}
	if *name == "" {
		return &usageError{"usage: hookline tenant create --name NAME [--json]"}
	}
	cfg, log, db, err := commandDB(ctx, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return err
	}
	st := store.New(db, nil, nil)
	t, err := st.CreateTenant(ctx, *name)
	if err != nil {
		return err
	}
	_, key, err := st.CreateAPIKey(ctx, t.ID, "default")
	if err != nil {
		return err
	}
	if svc, err := newBillingService(ctx, cfg, st, log); err == nil {
		svc.TenantCreated(ctx, t.ID) // Stripe customer and subscription, when Stripe is configured
	} else {
		log.Warn("tenant created, but billing is not set up for it yet", "err", err)
	}
	jwt, err := api.NewTokens(cfg.JWTSecret, nil).TenantToken(t.ID, cfg.JWTTTL)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"id": t.ID, "apiKey": key, "jwt": jwt})
	}
	fmt.Fprintf(stdout, "tenant:  %s (%s)\napi key: %s\njwt:     %s\n\nThe API key is shown only once; keep it somewhere safe.\n", t.ID, t.Name, key, jwt)
	return nil
}

func runJWT(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: hookline jwt generate [--ttl 24h] TENANT_ID"
	if len(args) < 2 || args[0] != "generate" {
		return &usageError{use}
	}
	fs := newFlagSet("jwt generate", stderr)
	ttlFlag := fs.Duration("ttl", 0, "the token's lifetime (default HOOKLINE_JWT_TTL)")
	if err := fs.Parse(args[1:]); err != nil {
		return &usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return &usageError{use}
	}
	cfg, err := loadConfig(withDevSecrets(getenv, stderr), false, stderr)
	if err != nil {
		return err
	}
	tenantID := fs.Arg(0)
	if !tenants.IsID(tenants.PrefixTenant, tenantID) {
		return &usageError{fmt.Sprintf("%q is not a tenant id (they look like org_2abc…)", tenantID)}
	}
	ttl := cfg.JWTTTL
	if *ttlFlag != 0 {
		if *ttlFlag < 0 || *ttlFlag > 10*365*24*time.Hour {
			return &usageError{"--ttl must be positive and at most 10 years"}
		}
		ttl = *ttlFlag
	}
	jwt, err := api.NewTokens(cfg.JWTSecret, nil).TenantToken(tenantID, ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, jwt)
	return nil
}

// runRevokeTokens sets a tenant's tokens-valid-after time: every tenant
// JWT issued before it (now, or --at) is refused, by every API process
// within the auth cache's 10 s.
func runRevokeTokens(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: hookline tenant revoke-tokens TENANT_ID [--at RFC3339]"
	fs := newFlagSet("tenant revoke-tokens", stderr)
	atFlag := fs.String("at", "", "revoke tokens issued before this RFC 3339 time (default now)")
	var positional []string
	rest := args
	for len(rest) > 0 { // the tenant id may come before or after the flags
		if err := fs.Parse(rest); err != nil {
			return &usageError{err.Error()}
		}
		rest = fs.Args()
		if len(rest) > 0 {
			positional, rest = append(positional, rest[0]), rest[1:]
		}
	}
	if len(positional) != 1 {
		return &usageError{use}
	}
	tenantID := positional[0]
	if !tenants.IsID(tenants.PrefixTenant, tenantID) {
		return &usageError{fmt.Sprintf("%q is not a tenant id (they look like org_2abc…)", tenantID)}
	}
	var at time.Time
	if *atFlag != "" {
		var err error
		if at, err = time.Parse(time.RFC3339, *atFlag); err != nil {
			return &usageError{"--at must be an RFC 3339 time such as 2026-01-02T15:04:05Z"}
		}
		if at.After(time.Now().Add(time.Minute)) {
			return &usageError{"--at must not be in the future: it would refuse tokens minted now"}
		}
	}
	_, _, db, err := commandDB(ctx, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return err
	}
	t, err := store.New(db, nil, nil).RevokeTenantTokens(ctx, tenantID, at)
	if err != nil {
		if errors.Is(err, tenants.ErrNotFound) {
			return fmt.Errorf("no tenant %s", tenantID)
		}
		return err
	}
	fmt.Fprintf(stdout, "tenant %s: JWTs issued before %s are refused (every API process within 10 s)\n", t.ID, t.TokensValidAfter.UTC().Format(time.RFC3339))
	return nil
}

// checkSchema refuses to run against a database whose schema is behind the
// binary.
func checkSchema(ctx context.Context, db *store.DB) error {
	n, err := db.PendingMigrations(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("the database schema is %d migration(s) behind this binary: run `hookline migrate up` first", n)
	}
	return nil
}
