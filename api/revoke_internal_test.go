package api

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
)

// TestAuthenticator_RevokeTenantTokens: after a tenant's tokens are
// revoked, the process that revoked them (it calls Forget) refuses the old
// JWTs at once, another process within authCacheTTL; tokens issued after
// the revocation, and API keys, keep working everywhere. Clocks are
// injected.
func TestAuthenticator_RevokeTenantTokens(t *testing.T) {
	t.Parallel()
	db, _ := storetest.Open(t)
	st := store.New(db, storetest.TestCipher(t), nil)
	ctx := context.Background()
	tn, err := st.CreateTenant(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := st.CreateAPIKey(ctx, tn.ID, "k")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now().Truncate(time.Second)
	now := func() time.Time { return clock }
	tokens := NewTokens("revoke-test-secret-0123456789abcdefghij", now)
	log := slog.New(slog.DiscardHandler)
	here, there := NewAuthenticator(st, tokens, log), NewAuthenticator(st, tokens, log)
	here.now, there.now = now, now

	old, err := tokens.TenantToken(tn.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	noIAT, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": tn.ID, "exp": clock.Add(time.Hour).Unix()}).SignedString(tokens.tenantKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*Authenticator{here, there} {
		for _, tok := range []string{old, noIAT, key} {
			if _, err := a.Authenticate(ctx, "Bearer "+tok); err != nil {
				t.Fatalf("before revocation: %v", err)
			}
		}
	}

	clock = clock.Add(1500 * time.Millisecond)
	revokedAt := clock
	if _, err := st.RevokeTenantTokens(ctx, tn.ID, revokedAt); err != nil {
		t.Fatal(err)
	}
	here.Forget(tn.ID)
	clock = clock.Add(time.Second) // past the revocation, rounded up to its second
	fresh, err := tokens.TenantToken(tn.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, a *Authenticator, tok string, ok bool) {
		t.Helper()
		_, err := a.Authenticate(ctx, "Bearer "+tok)
		if (err == nil) != ok {
			t.Errorf("%s: Authenticate = %v, want ok=%v", when, err, ok)
		}
	}
	check("revoking process, old token", here, old, false)
	check("revoking process, token without iat", here, noIAT, false)
	check("revoking process, fresh token", here, fresh, true)
	check("revoking process, API key", here, key, true)
	check("other process within the cache TTL, old token", there, old, true) // the documented staleness
	clock = clock.Add(authCacheTTL)
	check("other process after the cache TTL, old token", there, old, false)
	check("other process after the cache TTL, token without iat", there, noIAT, false)
	check("other process after the cache TTL, fresh token", there, fresh, true)
	check("other process after the cache TTL, API key", there, key, true)

	// A third process that first meets the tenant through an API key knows
	// the revocation too.
	third := NewAuthenticator(st, tokens, log)
	third.now = now
	check("new process, API key first", third, key, true)
	check("new process, old token", third, old, false)

	// The same second as the revocation counts as before it.
	sameSecond, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": tn.ID, "iat": revokedAt.Unix(), "exp": clock.Add(time.Hour).Unix()}).SignedString(tokens.tenantKey)
	check("token issued in the revocation's second", here, sameSecond, false)
}
