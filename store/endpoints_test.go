package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestFindEndpointsByID: the tenant's live endpoints among the ids, across
// its applications, with their lane cap; another tenant's endpoint and a
// deleted one are left out, and no ids is no query and no endpoints.
func TestFindEndpointsByID(t *testing.T) {
	t.Parallel()
	db, _ := storetest.Open(t)
	st := store.New(db, storetest.TestCipher(t), nil)
	ctx := context.Background()
	ten, _ := st.CreateTenant(ctx, "lanes")
	other, _ := st.CreateTenant(ctx, "other")
	mk := func(tenantID, name string, maxConc *int) tenants.Endpoint {
		t.Helper()
		app, err := st.CreateApplication(ctx, tenantID, tenants.ApplicationInput{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := st.CreateEndpoint(ctx, tenantID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/" + name, MaxConcurrency: maxConc})
		if err != nil {
			t.Fatal(err)
		}
		return ep
	}
	three := 3
	a := mk(ten.ID, "a", &three)
	b := mk(ten.ID, "b", nil)
	gone := mk(ten.ID, "gone", nil)
	if err := st.DeleteEndpoint(ctx, ten.ID, gone.AppID, gone.ID); err != nil {
		t.Fatal(err)
	}
	theirs := mk(other.ID, "theirs", nil)

	got, err := st.FindEndpointsByID(ctx, ten.ID, []string{a.ID, b.ID, gone.ID, theirs.ID, "ep_unknown"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
		if e.ID == a.ID && (e.MaxConcurrency == nil || *e.MaxConcurrency != 3 || e.AppID != a.AppID) {
			t.Errorf("endpoint a = %+v", e)
		}
	}
	slices.Sort(ids)
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("found %v, want %v (the tenant's live ones)", ids, want)
	}
	if got, err := st.FindEndpointsByID(ctx, ten.ID, nil); err != nil || len(got) != 0 {
		t.Errorf("no ids: %v %v", got, err)
	}
}
