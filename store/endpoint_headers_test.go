package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestSensitiveHeaders_SealedAtRest is issue 26's fifth finding: custom
// headers marked sensitive (Authorization, X-Api-Key, …) were hidden by
// the API but stored in the clear. Their values are now sealed like
// signing secrets — on create, on PATCH and PUT of the headers — and
// still reach the worker's configuration; values an earlier version
// stored in the clear are sealed by SealPlaintextHeaders, once.
func TestSensitiveHeaders_SealedAtRest(t *testing.T) {
	t.Parallel()
	db, dsn := storetest.Open(t)
	sql := storetest.SQL(t, dsn)
	st := store.New(db, storetest.TestCipher(t), nil)
	ctx := context.Background()
	ten, _ := st.CreateTenant(ctx, "hdr")
	app, _ := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a"})
	// atRest returns the endpoint's row as stored: both header columns.
	atRest := func(id string) (plain, sealed []byte) {
		t.Helper()
		if err := sql.QueryRow(ctx, `SELECT headers::text::bytea, sealed_headers FROM endpoints WHERE id = $1`, id).Scan(&plain, &sealed); err != nil {
			t.Fatal(err)
		}
		return plain, sealed
	}
	clear := func(id string, secrets ...string) {
		t.Helper()
		plain, sealed := atRest(id)
		for _, s := range secrets {
			if bytes.Contains(plain, []byte(s)) || bytes.Contains(sealed, []byte(s)) {
				t.Errorf("%q is stored in the clear (headers %s)", s, plain)
			}
		}
	}
	sent := func(id string, want map[string]string) {
		t.Helper()
		c, err := st.LoadEndpointConfig(ctx, ten.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			if c.Headers[k] != v {
				t.Errorf("the worker's configuration has %s = %q, want %q (all: %v)", k, c.Headers[k], v, c.Headers)
			}
		}
	}

	ep, err := st.CreateEndpoint(ctx, ten.ID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/h",
		Headers: map[string]string{"Authorization": "Bearer create-secret", "X-Plain": "visible"}})
	if err != nil {
		t.Fatal(err)
	}
	clear(ep.ID, "create-secret")
	if plain, sealed := atRest(ep.ID); !bytes.Contains(plain, []byte("visible")) || len(sealed) == 0 {
		t.Errorf("at rest: headers %s, sealed %d bytes; want the plain header in the clear and the sensitive one sealed", plain, len(sealed))
	}
	sent(ep.ID, map[string]string{"Authorization": "Bearer create-secret", "X-Plain": "visible"})

	// PATCH adds one, keeps the others; PUT replaces them all.
	key := "patch-secret"
	if err := st.SetEndpointHeaders(ctx, ten.ID, app.ID, ep.ID, map[string]*string{"X-Api-Key": &key}, false); err != nil {
		t.Fatal(err)
	}
	clear(ep.ID, "create-secret", "patch-secret")
	sent(ep.ID, map[string]string{"Authorization": "Bearer create-secret", "X-Api-Key": "patch-secret", "X-Plain": "visible"})
	h, err := st.EndpointHeaders(ctx, ten.ID, app.ID, ep.ID)
	if err != nil || len(h) != 3 {
		t.Errorf("headers after PATCH: %v, %v", h, err)
	}
	only := "visible-2"
	if err := st.SetEndpointHeaders(ctx, ten.ID, app.ID, ep.ID, map[string]*string{"X-Plain": &only}, true); err != nil {
		t.Fatal(err)
	}
	if h, err := st.EndpointHeaders(ctx, ten.ID, app.ID, ep.ID); err != nil || len(h) != 1 || h["X-Plain"] != "visible-2" {
		t.Errorf("headers after PUT: %v, %v; want X-Plain alone", h, err)
	}
	if _, sealed := atRest(ep.ID); len(sealed) != 0 {
		t.Errorf("a PUT without sensitive headers left %d sealed bytes", len(sealed))
	}

	// What an earlier version wrote: sensitive values in the clear.
	if _, err := sql.Exec(ctx, `UPDATE endpoints SET headers = '{"authorization":"Bearer legacy-secret","X-Plain":"old"}', sealed_headers = NULL WHERE id = $1`, ep.ID); err != nil {
		t.Fatal(err)
	}
	n, err := st.SealPlaintextHeaders(ctx)
	if err != nil || n != 1 {
		t.Fatalf("SealPlaintextHeaders sealed %d endpoints (%v), want 1", n, err)
	}
	clear(ep.ID, "legacy-secret")
	sent(ep.ID, map[string]string{"authorization": "Bearer legacy-secret", "X-Plain": "old"})
	if n, err := st.SealPlaintextHeaders(ctx); err != nil || n != 0 {
		t.Errorf("a second pass sealed %d (%v), want 0", n, err)
	}
}
