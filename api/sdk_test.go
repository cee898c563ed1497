package api_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
	"github.com/svix/svix-webhooks/go/utils"

	"github.com/hookline/hookline/testenv"
)

func ptr[T any](v T) *T { return &v }

func sdkStatus(err error) int {
	var e *svix.Error
	if errors.As(err, &e) {
		return e.Status()
	}
	return 0
}

// TestSDK_ApplicationsAndEndpoints drives the official Svix Go SDK through
// the application and endpoint life cycle, once with an API key and once
// with a tenant JWT: what our users run must work unchanged.
func TestSDK_ApplicationsAndEndpoints(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	for _, tc := range []struct{ name, token string }{{"APIKey", env.APIKey}, {"JWT", env.JWT}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := env.SDK(tc.token)
			prefix := tc.name

			// Create, with and without uid; get by id and by uid.
			app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "Acme", Uid: ptr(prefix + "-acme"), Metadata: &map[string]string{"plan": "gold"}}, nil)
			if err != nil {
				t.Fatalf("create application: %v", err)
			}
			if app.Uid == nil || *app.Uid != prefix+"-acme" || app.Metadata["plan"] != "gold" {
				t.Fatalf("created application = %+v", app)
			}
			byUID, err := c.Application.Get(ctx, prefix+"-acme")
			if err != nil || byUID.Id != app.Id {
				t.Fatalf("get by uid = %+v, %v", byUID, err)
			}
			byID, err := c.Application.Get(ctx, app.Id)
			if err != nil || byID.Name != "Acme" {
				t.Fatalf("get by id = %+v, %v", byID, err)
			}
			// A second create with the same uid conflicts; GetOrCreate returns it.
			if _, err := c.Application.Create(ctx, models.ApplicationIn{Name: "dup", Uid: ptr(prefix + "-acme")}, nil); sdkStatus(err) != 409 {
				t.Fatalf("duplicate uid: err = %v, want 409", err)
			}
			same, err := c.Application.GetOrCreate(ctx, models.ApplicationIn{Name: "dup", Uid: ptr(prefix + "-acme")}, nil)
			if err != nil || same.Id != app.Id {
				t.Fatalf("GetOrCreate = %+v, %v", same, err)
			}

			// List page by page.
			var want []string
			want = append(want, app.Id)
			for i := range 4 {
				a, err := c.Application.Create(ctx, models.ApplicationIn{Name: fmt.Sprintf("%s app %d", prefix, i)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, a.Id)
			}
			var got []string
			var iter *string
			pages := 0
			for {
				page, err := c.Application.List(ctx, &svix.ApplicationListOptions{Limit: ptr(uint64(2)), Iterator: iter})
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				pages++
				for _, a := range page.Data {
					got = append(got, a.Id)
				}
				if page.Done {
					break
				}
				iter = page.Iterator
			}
			for _, id := range want {
				if !slices.Contains(got, id) {
					t.Errorf("listing misses %s", id)
				}
			}
			if !slices.IsSorted(got) || pages < 3 {
				t.Errorf("listing: %d pages, ids %v (want ascending, several pages)", pages, got)
			}

			// Update (PUT) and patch with explicit null.
			upd, err := c.Application.Update(ctx, app.Id, models.ApplicationIn{Name: "Acme Inc", Uid: ptr(prefix + "-acme"), ThrottleRate: ptr(uint16(10))})
			if err != nil || upd.Name != "Acme Inc" || upd.ThrottleRate == nil || *upd.ThrottleRate != 10 {
				t.Fatalf("update = %+v, %v", upd, err)
			}
			patched, err := c.Application.Patch(ctx, app.Id, models.ApplicationPatch{
				Name: ptr("Acme Corp"), ThrottleRate: utils.NewNullableFromPtr[uint16](nil),
			})
			if err != nil || patched.Name != "Acme Corp" || patched.ThrottleRate != nil || patched.Uid == nil {
				t.Fatalf("patch = %+v, %v", patched, err)
			}

			// Endpoints: create, get, list, update, patch, secret, rotate, headers, delete.
			ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{
				Url: "http://127.0.0.1:9/hooks", Uid: ptr("main"), Description: ptr("main hook"),
				Channels: []string{"eu"}, Metadata: &map[string]string{"team": "ops"},
			}, nil)
			if err != nil {
				t.Fatalf("create endpoint: %v", err)
			}
			if ep.Url != "http://127.0.0.1:9/hooks" || ep.Version != 1 || len(ep.Channels) != 1 {
				t.Fatalf("created endpoint = %+v", ep)
			}
			got1, err := c.Endpoint.Get(ctx, prefix+"-acme", "main")
			if err != nil || got1.Id != ep.Id {
				t.Fatalf("get endpoint by uids = %+v, %v", got1, err)
			}
			for i := range 3 {
				if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: fmt.Sprintf("http://127.0.0.1:9/%d", i)}, nil); err != nil {
					t.Fatal(err)
				}
			}
			var eps []string
			iter = nil
			for {
				page, err := c.Endpoint.List(ctx, app.Id, &svix.EndpointListOptions{Limit: ptr(uint64(3)), Iterator: iter})
				if err != nil {
					t.Fatalf("list endpoints: %v", err)
				}
				for _, e := range page.Data {
					eps = append(eps, e.Id)
				}
				if page.Done {
					break
				}
				iter = page.Iterator
			}
			if len(eps) != 4 || !slices.IsSortedFunc(eps, func(a, b string) int { return -cmpStr(a, b) }) {
				t.Fatalf("endpoint listing = %v, want 4 newest first", eps)
			}
			up, err := c.Endpoint.Update(ctx, app.Id, ep.Id, models.EndpointUpdate{Url: "http://127.0.0.1:9/v2", Description: ptr("v2")})
			if err != nil || up.Url != "http://127.0.0.1:9/v2" || len(up.Channels) != 0 {
				t.Fatalf("update endpoint = %+v, %v", up, err)
			}
			pe, err := c.Endpoint.Patch(ctx, app.Id, ep.Id, models.EndpointPatch{
				Disabled: ptr(true), Channels: utils.NewNullable([]string{"us", "eu"}), Uid: utils.NewNullableFromPtr[string](nil),
			})
			if err != nil || pe.Disabled == nil || !*pe.Disabled || len(pe.Channels) != 2 || pe.Uid != nil {
				t.Fatalf("patch endpoint = %+v, %v", pe, err)
			}

			sec, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
			if err != nil || len(sec.Key) != len("whsec_")+32 {
				t.Fatalf("get secret = %+v, %v", sec, err)
			}
			if err := c.Endpoint.RotateSecret(ctx, app.Id, ep.Id, models.EndpointSecretRotateIn{}, nil); err != nil {
				t.Fatalf("rotate secret: %v", err)
			}
			sec2, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
			if err != nil || sec2.Key == sec.Key {
				t.Fatalf("secret after rotation = %v (was %v), %v", sec2.Key, sec.Key, err)
			}
			chosen := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
			if err := c.Endpoint.RotateSecret(ctx, app.Id, ep.Id, models.EndpointSecretRotateIn{Key: &chosen}, nil); err != nil {
				t.Fatalf("rotate to a chosen secret: %v", err)
			}
			if sec3, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id); err != nil || sec3.Key != chosen {
				t.Fatalf("secret after rotating to a chosen one = %+v, %v", sec3, err)
			}

			if err := c.Endpoint.UpdateHeaders(ctx, app.Id, ep.Id, models.EndpointHeadersIn{Headers: map[string]string{"X-Team": "ops", "Authorization": "Bearer s3cret"}}); err != nil {
				t.Fatalf("update headers: %v", err)
			}
			h, err := c.Endpoint.GetHeaders(ctx, app.Id, ep.Id)
			if err != nil || h.Headers["X-Team"] != "ops" || len(h.Sensitive) != 1 || h.Sensitive[0] != "Authorization" {
				t.Fatalf("get headers = %+v, %v", h, err)
			}
			if _, leaked := h.Headers["Authorization"]; leaked {
				t.Fatal("a sensitive header's value was returned")
			}

			if err := c.Endpoint.Delete(ctx, app.Id, ep.Id); err != nil {
				t.Fatalf("delete endpoint: %v", err)
			}
			if _, err := c.Endpoint.Get(ctx, app.Id, ep.Id); sdkStatus(err) != 404 {
				t.Fatalf("get deleted endpoint: %v, want 404", err)
			}
			if err := c.Application.Delete(ctx, app.Id); err != nil {
				t.Fatalf("delete application: %v", err)
			}
			if _, err := c.Application.Get(ctx, app.Id); sdkStatus(err) != 404 {
				t.Fatalf("get deleted application: %v, want 404", err)
			}
			// Its uid is free again.
			if _, err := c.Application.Create(ctx, models.ApplicationIn{Name: "again", Uid: ptr(prefix + "-acme")}, nil); err != nil {
				t.Fatalf("reuse a deleted app's uid: %v", err)
			}
		})
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
