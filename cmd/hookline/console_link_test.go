package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"testing"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestConsoleLink prints a one-time link into a tenant's console under
// HOOKLINE_PUBLIC_URL; the link opens that tenant's console once.
func TestConsoleLink(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	env := testSecrets(dsn)
	env["HOOKLINE_PUBLIC_URL"] = "https://hooks.acme.test"
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tenant", "create", "--name", "Acme", "--json"}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut.String())
	}
	var tenant struct{ ID string }
	if err := json.Unmarshal(out.Bytes(), &tenant); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"console-link", tenant.ID}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("console-link: %v\n%s", err, errOut.String())
	}
	m := regexp.MustCompile(`^https://hooks\.acme\.test/console/#link=(hlcl_[A-Za-z0-9_-]{43})\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("console-link printed %q", out.String())
	}
	db, err := store.Open(ctx, dsn, 2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := store.New(db, nil, nil)
	if ct, err := st.UseConsoleLink(ctx, m[1]); err != nil || ct.TenantID != tenant.ID {
		t.Fatalf("using the link: %+v %v", ct, err)
	}
	if _, err := st.UseConsoleLink(ctx, m[1]); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("using the link twice: %v, want ErrNotFound", err)
	}

	var ue *usageError
	if err := run(ctx, []string{"console-link", "acme"}, envMap(env), &out, &errOut); !errors.As(err, &ue) {
		t.Errorf("console-link with a bad id: %v, want a usage error", err)
	}
	if err := run(ctx, []string{"console-link", "org_2abcdefghijklmnopqrstuvwxyz0"}, envMap(env), &out, &errOut); err == nil {
		t.Error("console-link for an unknown tenant succeeded")
	}
}
