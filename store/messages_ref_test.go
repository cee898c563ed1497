package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestCreateMessages_ResolvesAppRef: an application given by uid or id is
// resolved in the statement that stores the message; a ref naming no live
// application of the tenant (unknown, another tenant's, deleted) makes the
// spec Missing and stores nothing for it, without spoiling the batch; with
// WithConfig each delivery carries its endpoint's configuration exactly
// as LoadEndpointConfig reads it, and without it none.
func TestCreateMessages_ResolvesAppRef(t *testing.T) {
	t.Parallel()
	db, _ := storetest.Open(t)
	st := store.New(db, storetest.TestCipher(t), nil)
	ctx := context.Background()
	ten, _ := st.CreateTenant(ctx, "ref")
	other, _ := st.CreateTenant(ctx, "other")
	uid := "shop-1"
	app, err := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a", UID: &uid})
	if err != nil {
		t.Fatal(err)
	}
	gone, _ := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "gone"})
	if err := st.DeleteApplication(ctx, ten.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	theirs, _ := st.CreateApplication(ctx, other.ID, tenants.ApplicationInput{Name: "theirs"})
	secret, rate := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 9
	ep, err := st.CreateEndpoint(ctx, ten.ID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/hook", Secret: &secret,
		ThrottleRate: &rate, Headers: map[string]string{"X-A": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	in := tenants.MessageInput{EventType: "e.t", Payload: []byte(`{}`)}
	specs := []tenants.MessageSpec{
		{TenantID: ten.ID, AppRef: uid, WithConfig: true, In: in},
		{TenantID: ten.ID, AppRef: app.ID, In: in},
		{TenantID: ten.ID, AppRef: "nope", WithConfig: true, In: in},
		{TenantID: ten.ID, AppRef: gone.ID, In: in},
		{TenantID: ten.ID, AppRef: theirs.ID, In: in},
		{TenantID: ten.ID, AppID: app.ID, In: in},
	}
	made, err := st.CreateMessages(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.LoadEndpointConfig(ctx, ten.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range made {
		missing := i >= 2 && i <= 4
		if m.Missing != missing || m.Duplicate {
			t.Errorf("spec %d: missing %v duplicate %v, want missing %v", i, m.Missing, m.Duplicate, missing)
			continue
		}
		if missing {
			if m.Message.ID != "" || len(m.Deliveries) != 0 {
				t.Errorf("spec %d: a missing application stored %+v", i, m)
			}
			continue
		}
		if m.Message.AppID != app.ID || len(m.Deliveries) != 1 {
			t.Fatalf("spec %d: app %q, %d deliveries; want %s and 1", i, m.Message.AppID, len(m.Deliveries), app.ID)
		}
		if _, err := st.FindMessage(ctx, ten.ID, app.ID, m.Message.ID); err != nil {
			t.Errorf("spec %d: stored message not found: %v", i, err)
		}
		cfg := m.Deliveries[0].Config
		switch {
		case !specs[i].WithConfig && cfg != nil:
			t.Errorf("spec %d: configuration returned unasked", i)
		case specs[i].WithConfig && cfg == nil:
			t.Errorf("spec %d: no configuration", i)
		case specs[i].WithConfig:
			// SecretsValidUntil is "now + 24 h" for each read.
			cfg.SecretsValidUntil = want.SecretsValidUntil
			if d := cmp.Diff(want, *cfg); d != "" {
				t.Errorf("spec %d: configuration (-LoadEndpointConfig +with the delivery):\n%s", i, d)
			}
		}
	}
}
