package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestLoadEndpointConfig: the sending configuration comes with the live
// secrets, current first, in one query; a rotated-out secret stays during
// its grace and bounds how long the configuration may be cached; an
// expired one is gone; an unknown endpoint, or another tenant's, is
// ErrNotFound.
func TestLoadEndpointConfig(t *testing.T) {
	t.Parallel()
	db, _ := storetest.Open(t)
	st := store.New(db, storetest.TestCipher(t), nil)
	ctx := context.Background()
	ten, _ := st.CreateTenant(ctx, "cfg")
	other, _ := st.CreateTenant(ctx, "other")
	app, _ := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a"})
	rate, secret := 7, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ep, err := st.CreateEndpoint(ctx, ten.ID, app.ID, tenants.EndpointInput{
		URL: "http://127.0.0.1:9/hook", Secret: &secret, ThrottleRate: &rate,
		Headers: map[string]string{"X-A": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.LoadEndpointConfig(ctx, ten.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "http://127.0.0.1:9/hook" || c.Headers["X-A"] != "1" || c.ThrottleRate == nil || *c.ThrottleRate != 7 ||
		!slices.Equal(c.Secrets, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}) {
		t.Fatalf("config = %+v", c)
	}
	if err := st.RotateEndpointSecret(ctx, ten.ID, app.ID, ep.ID, "whsec_2q0VSwbFgmzdyTz1v0OZUXAYTgOZ6JAb", time.Hour); err != nil {
		t.Fatal(err)
	}
	c, err = st.LoadEndpointConfig(ctx, ten.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Secrets, []string{"whsec_2q0VSwbFgmzdyTz1v0OZUXAYTgOZ6JAb", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}) {
		t.Errorf("after a rotation with grace: secrets %v, want the new one, then the old", c.Secrets)
	}
	if d := time.Until(c.SecretsValidUntil); d > time.Hour || d < 50*time.Minute {
		t.Errorf("valid for %s, want until the old secret's expiry (1 h)", d)
	}
	if err := st.RotateEndpointSecret(ctx, ten.ID, app.ID, ep.ID, "whsec_3q0VSwbFgmzdyTz1v0OZUXAYTgOZ6JAb", 0); err != nil {
		t.Fatal(err)
	}
	if c, err = st.LoadEndpointConfig(ctx, ten.ID, ep.ID); err != nil || c.Secrets[0] != "whsec_3q0VSwbFgmzdyTz1v0OZUXAYTgOZ6JAb" {
		t.Errorf("after a rotation without grace: %v, %v", c.Secrets, err)
	}
	for _, tc := range []struct{ tenant, endpoint string }{{ten.ID, "ep_nope"}, {other.ID, ep.ID}} {
		if _, err := st.LoadEndpointConfig(ctx, tc.tenant, tc.endpoint); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("LoadEndpointConfig(%s, %s) = %v, want ErrNotFound", tc.tenant, tc.endpoint, err)
		}
	}
}
