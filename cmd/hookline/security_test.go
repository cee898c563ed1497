package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
)

// TestLoadConfig_AdminTokenLengthAndJWTTTL: the admin token must be at
// least 32 characters; HOOKLINE_JWT_TTL defaults to 30 days and accepts
// days; HOOKLINE_API_RATE_LIMIT defaults to 1000, the portal's budgets to
// 100/s an application and 20/s a session.
func TestLoadConfig_AdminTokenLengthAndJWTTTL(t *testing.T) {
	env := testSecrets("postgres://x@127.0.0.1/db")
	cfg, err := loadConfig(envMap(env), false, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWTTTL != 30*24*time.Hour || cfg.APIRateLimit != 1000 {
		t.Errorf("defaults: JWT TTL %s, API rate limit %d", cfg.JWTTTL, cfg.APIRateLimit)
	}
	if cfg.PortalRateLimit != 100 || cfg.PortalSessionRateLimit != 20 {
		t.Errorf("defaults: portal rate limits %d/s an application, %d/s a session; want 100 and 20", cfg.PortalRateLimit, cfg.PortalSessionRateLimit)
	}
	env["HOOKLINE_ADMIN_TOKEN"] = "short-admin-token"
	env["HOOKLINE_JWT_TTL"] = "0s"
	_, err = loadConfig(envMap(env), false, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_ADMIN_TOKEN must be at least 32 characters") || !strings.Contains(err.Error(), "HOOKLINE_JWT_TTL") {
		t.Errorf("short admin token and zero TTL: %v", err)
	}
	env["HOOKLINE_ADMIN_TOKEN"] = strings.Repeat("a", 32)
	env["HOOKLINE_JWT_TTL"] = "7d"
	if cfg, err = loadConfig(envMap(env), false, &bytes.Buffer{}); err != nil || cfg.JWTTTL != 7*24*time.Hour {
		t.Errorf("32-character token, 7d TTL: %v, %s", err, cfg.JWTTTL)
	}
}

// TestTenantTokens_CLI: tenant create and jwt generate mint tokens with
// HOOKLINE_JWT_TTL (or --ttl); tenant revoke-tokens refuses every token
// issued before it.
func TestTenantTokens_CLI(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	env := testSecrets(dsn)
	env["HOOKLINE_JWT_TTL"] = "2d"
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tenant", "create", "--name", "Acme", "--json"}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut.String())
	}
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	lifetime := func(tok string) time.Duration {
		t.Helper()
		var c jwt.RegisteredClaims
		if _, _, err := jwt.NewParser().ParseUnverified(strings.TrimSpace(tok), &c); err != nil {
			t.Fatal(err)
		}
		return c.ExpiresAt.Sub(c.IssuedAt.Time)
	}
	if l := lifetime(got["jwt"]); l != 48*time.Hour {
		t.Errorf("tenant create minted a token for %s, want HOOKLINE_JWT_TTL 48h", l)
	}
	out.Reset()
	if err := run(ctx, []string{"jwt", "generate", "--ttl", "90m", got["id"]}, envMap(env), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if l := lifetime(out.String()); l != 90*time.Minute {
		t.Errorf("jwt generate --ttl 90m minted a token for %s", l)
	}
	tokens := api.NewTokens(env["HOOKLINE_JWT_SECRET"], nil)
	if _, err := tokens.ParseTenantToken(got["jwt"]); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if err := run(ctx, []string{"tenant", "revoke-tokens", got["id"]}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("revoke-tokens: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "are refused") {
		t.Errorf("revoke-tokens printed %q", out.String())
	}
	gdb, err := store.Open(ctx, dsn, 2, newLogger(Config{}, &bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	defer gdb.Close()
	tn, err := store.New(gdb, nil, nil).FindTenantByID(ctx, got["id"])
	if err != nil || tn.TokensValidAfter == nil || time.Since(*tn.TokensValidAfter) > time.Minute || tn.TokensValidAfter.Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("tokens_valid_after = %v, %v; want about now", tn.TokensValidAfter, err)
	}
	_, iat, err := tokens.ParseTenantTokenClaims(got["jwt"])
	if err != nil || !iat.Before(*tn.TokensValidAfter) {
		t.Errorf("the minted token (iat %s) is not before the revocation (%s)", iat, tn.TokensValidAfter)
	}
	for _, args := range [][]string{
		{"tenant", "revoke-tokens"}, {"tenant", "revoke-tokens", "not-a-tenant"},
		{"tenant", "revoke-tokens", got["id"], "--at", "tomorrow"},
		{"tenant", "revoke-tokens", got["id"], "--at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		{"jwt", "generate", "--ttl", "-1h", got["id"]},
	} {
		if err := run(ctx, args, envMap(env), &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
	if err := run(ctx, []string{"tenant", "revoke-tokens", "org_2Ug6JqzK8ODiTcjjwTnnbxbxqDh"}, envMap(env), &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no tenant") {
		t.Errorf("revoke-tokens of an unknown tenant: %v", err)
	}
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	if err := run(ctx, []string{"tenant", "revoke-tokens", "--at", at.Format(time.RFC3339), got["id"]}, envMap(env), &bytes.Buffer{}, &errOut); err != nil {
		t.Fatalf("revoke-tokens --at: %v", err)
	}
	if tn, _ = store.New(gdb, nil, nil).FindTenantByID(ctx, got["id"]); tn.TokensValidAfter == nil || !tn.TokensValidAfter.Equal(at) {
		t.Errorf("--at %s stored %v", at, tn.TokensValidAfter)
	}
}

// TestMetrics_PublicListenerNeedsToken: outside `hookline dev`, /metrics
// is not served on the public listener without HOOKLINE_METRICS_TOKEN; with
// the token it answers only to it.
func TestMetrics_PublicListenerNeedsToken(t *testing.T) {
	t.Parallel()
	get := func(url, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	open := startAll(t, map[string]string{"HOOKLINE_LOG_LEVEL": "error"})
	if code := get(open.base+"/metrics", ""); code != 404 {
		t.Errorf("/metrics without a token configured: %d, want 404", code)
	}
	token := "metrics-token-for-the-test-0123456789"
	guarded := startAll(t, map[string]string{"HOOKLINE_LOG_LEVEL": "error", "HOOKLINE_METRICS_TOKEN": token})
	if code := get(guarded.base+"/metrics", ""); code != 401 {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	if code := get(guarded.base+"/metrics", token); code != 200 {
		t.Errorf("/metrics with the token: %d, want 200", code)
	}
}
