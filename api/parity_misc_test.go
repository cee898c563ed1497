package api_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
)

// diff returns "" when want and got are deeply equal, else both as JSON.
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	w, _ := json.Marshal(want)
	g, _ := json.Marshal(got)
	return "want " + string(w) + "\n got " + string(g)
}

// TestSDK_MessagePrecheck: precheck answers whether any live endpoint
// would receive the event type and channels, by the routing rules.
func TestSDK_MessagePrecheck(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{}) // no worker: nothing is sent
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	for _, name := range []string{"user.created", "order.paid"} {
		if _, err := c.EventType.Create(ctx, models.EventTypeIn{Name: name, Description: name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "pre"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://127.0.0.1:9/closed"
	expect := func(eventType string, channels []string, want bool) {
		t.Helper()
		got, err := c.Message.Precheck(ctx, app.Id, models.MessagePrecheckIn{EventType: eventType, Channels: channels}, nil)
		if err != nil {
			t.Fatalf("precheck %s %v: %v", eventType, channels, err)
		}
		if got.Active != want {
			t.Errorf("precheck %s %v = %v, want %v", eventType, channels, got.Active, want)
		}
	}
	expect("user.created", nil, false) // no endpoint at all
	if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: closed, FilterTypes: []string{"user.created"}, Channels: []string{"eu"}}, nil); err != nil {
		t.Fatal(err)
	}
	expect("user.created", nil, false)
	expect("user.created", []string{"eu"}, true)
	expect("user.created", []string{"us", "eu"}, true)
	expect("user.created", []string{"us"}, false)
	expect("order.paid", []string{"eu"}, false)
	open, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: closed, Disabled: ptr(true)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	expect("order.paid", nil, false) // the only catch-all is disabled
	if _, err := c.Endpoint.Patch(ctx, app.Id, open.Id, models.EndpointPatch{Disabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	expect("order.paid", nil, true)
	expect("never.declared", []string{"x"}, true)
	if err := c.Endpoint.Delete(ctx, app.Id, open.Id); err != nil {
		t.Fatal(err)
	}
	expect("order.paid", nil, false)

	if _, err := c.Message.Precheck(ctx, "app_missing", models.MessagePrecheckIn{EventType: "user.created"}, nil); sdkStatus(err) != 404 {
		t.Errorf("precheck of an unknown app: %v, want 404", err)
	}
	if _, err := c.Message.Precheck(ctx, app.Id, models.MessagePrecheckIn{}, nil); sdkStatus(err) != 422 {
		t.Errorf("precheck without eventType: %v, want 422", err)
	}
	// Precheck stores nothing.
	if pg, err := c.Message.List(ctx, app.Id, nil); err != nil || len(pg.Data) != 0 {
		t.Errorf("messages after prechecks = %+v, %v", pg, err)
	}
}

const openAPIDoc = `{
  "openapi": "3.1.0",
  "info": {"title": "Acme webhooks", "version": "1"},
  "webhooks": {
    "user.created": {"post": {
      "summary": "A user was created", "description": "Sent when a user signs up.",
      "x-svix-group-name": "users",
      "requestBody": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/User"},
        "example": {"id": "u_1", "email": "a@b.c", "address": {"city": "Oslo"}}
      }}}
    }},
    "invoice.paid": {"post": {
      "summary": "An invoice was paid",
      "requestBody": {"$ref": "#/components/requestBodies/Invoice"}
    }}
  },
  "x-webhooks": {
    "legacy.event": {"post": {"summary": "Old", "deprecated": true}}
  },
  "components": {
    "schemas": {
      "User": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "email": {"type": "string", "format": "email"},
        "address": {"$ref": "#/components/schemas/Address"}
      }},
      "Address": {"type": "object", "properties": {"city": {"type": "string"}}}
    },
    "requestBodies": {
      "Invoice": {"content": {"application/json": {
        "schema": {"type": "object", "properties": {"amount": {"type": "integer"}}},
        "examples": {"big": {"value": {"amount": 9900}}, "small": {"value": {"amount": 100}}}
      }}}
    }
  }
}`

// TestSDK_EventTypeImportOpenAPI: event types come from an OpenAPI 3.x
// document's webhooks (and x-webhooks), with references resolved and
// examples kept where send-example finds them; dryRun changes nothing;
// replaceAll archives what the document does not name.
func TestSDK_EventTypeImportOpenAPI(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{}) // no worker: nothing is sent
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	if _, err := c.EventType.Create(ctx, models.EventTypeIn{Name: "old.type", Description: "old"}, nil); err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(openAPIDoc), &spec); err != nil {
		t.Fatal(err)
	}
	out, err := c.EventType.ImportOpenapi(ctx, models.EventTypeImportOpenApiIn{Spec: &spec}, nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if got := slices.Sorted(slices.Values(out.Data.Modified)); !slices.Equal(got, []string{"invoice.paid", "legacy.event", "user.created"}) {
		t.Errorf("modified = %v", got)
	}
	uc, err := c.EventType.Get(ctx, "user.created")
	if err != nil {
		t.Fatal(err)
	}
	if uc.Description != "Sent when a user signs up." || uc.GroupName == nil || *uc.GroupName != "users" || uc.Schemas == nil {
		t.Fatalf("user.created = %+v", uc)
	}
	wantSchema := map[string]any{
		"type": "object", "required": []any{"id"}, "properties": map[string]any{
			"id": map[string]any{"type": "string"}, "email": map[string]any{"type": "string", "format": "email"},
			"address": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		},
		"examples": []any{map[string]any{"id": "u_1", "email": "a@b.c", "address": map[string]any{"city": "Oslo"}}},
	}
	if d := diff(wantSchema, (*uc.Schemas)["1"]); d != "" {
		t.Errorf("user.created schema :\n%s", d)
	}
	ip, err := c.EventType.Get(ctx, "invoice.paid")
	if err != nil || ip.Description != "An invoice was paid" {
		t.Fatalf("invoice.paid = %+v, %v", ip, err)
	}
	if ex := (*ip.Schemas)["1"].(map[string]any)["examples"]; diff([]any{map[string]any{"amount": float64(9900)}, map[string]any{"amount": float64(100)}}, ex) != "" {
		t.Errorf("invoice.paid examples = %v", ex)
	}
	if le, err := c.EventType.Get(ctx, "legacy.event"); err != nil || !le.Deprecated || le.Description != "Old" {
		t.Errorf("legacy.event = %+v, %v", le, err)
	}
	// The example is what send-example sends.
	app, _ := c.Application.Create(ctx, models.ApplicationIn{Name: "imp"}, nil)
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "http://127.0.0.1:9/closed"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := c.Endpoint.SendExample(ctx, app.Id, ep.Id, models.EventExampleIn{EventType: "user.created"}, nil)
	if err != nil || ex.Payload["email"] != "a@b.c" {
		t.Errorf("send-example of an imported type = %+v, %v", ex, err)
	}

	// dryRun from YAML: lists, changes nothing.
	yamlDoc := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nx-webhooks:\n  new.one:\n    post:\n      description: New\n"
	dry, err := c.EventType.ImportOpenapi(ctx, models.EventTypeImportOpenApiIn{SpecRaw: ptr(yamlDoc), DryRun: ptr(true)}, nil)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if len(dry.Data.ToModify) != 1 || dry.Data.ToModify[0].Name != "new.one" || dry.Data.ToModify[0].Description != "New" || len(dry.Data.Modified) != 0 {
		t.Errorf("dry run = %+v", dry.Data)
	}
	if _, err := c.EventType.Get(ctx, "new.one"); sdkStatus(err) != 404 {
		t.Errorf("dry run created new.one: %v", err)
	}
	// replaceAll archives old.type (and the three above).
	if _, err := c.EventType.ImportOpenapi(ctx, models.EventTypeImportOpenApiIn{SpecRaw: ptr(yamlDoc), ReplaceAll: ptr(true)}, nil); err != nil {
		t.Fatal(err)
	}
	live, err := c.EventType.List(ctx, &svix.EventTypeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, et := range live.Data {
		names = append(names, et.Name)
	}
	if !slices.Equal(names, []string{"new.one"}) {
		t.Errorf("live event types after replaceAll = %v, want [new.one]", names)
	}

	for name, doc := range map[string]string{
		"no webhooks": `{"openapi":"3.1.0","paths":{}}`,
		"swagger 2":   `{"swagger":"2.0","webhooks":{"a.b":{"post":{}}}}`,
		"remote ref":  `{"openapi":"3.1.0","webhooks":{"a.b":{"post":{"requestBody":{"$ref":"https://127.0.0.1:9/x.json"}}}}}`,
		"bad name":    `{"openapi":"3.1.0","webhooks":{"a b":{"post":{}}}}`,
		"cycle":       `{"openapi":"3.1.0","webhooks":{"a.b":{"post":{"requestBody":{"$ref":"#/components/x"}}}},"components":{"x":{"$ref":"#/components/x"}}}`,
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		if _, err := c.EventType.ImportOpenapi(ctx, models.EventTypeImportOpenApiIn{Spec: &m}, nil); sdkStatus(err) != 422 {
			t.Errorf("%s: %v, want 422", name, err)
		}
	}
}

// TestSDK_EnvironmentRoundTrip: what one tenant exports, a second imports,
// and the second's export then matches the first's.
func TestSDK_EnvironmentRoundTrip(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	a := env.SDK(env.APIKey)
	schemas := map[string]any{"1": map[string]any{"type": "object", "examples": []any{map[string]any{"k": "v"}}}}
	for _, in := range []models.EventTypeIn{
		{Name: "user.created", Description: "created", Schemas: &schemas, GroupName: ptr("users")},
		{Name: "user.deleted", Description: "deleted", Deprecated: ptr(true)},
		{Name: "user.gone", Description: "gone", Archived: ptr(true)},
	} {
		if _, err := a.EventType.Create(ctx, in, nil); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := call(t, env.URL, "PATCH", "/api/v1/settings", env.APIKey,
		`{"displayName":"Acme","primaryColor":"#4f46e5","theme":"dark","allowedFrameOrigins":["https://app.acme.test"]}`); code != 200 {
		t.Fatalf("patch settings: %d %s", code, body)
	}
	exp, err := a.Environment.Export(ctx, nil)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if len(exp.EventTypes) != 3 || exp.Settings == nil || (*exp.Settings)["displayName"] != "Acme" || len(exp.Connectors) != 0 {
		t.Fatalf("export = %+v", exp)
	}

	in := models.EnvironmentIn{Settings: exp.Settings}
	for _, et := range exp.EventTypes {
		in.EventTypes = append(in.EventTypes, models.EventTypeIn{
			Name: et.Name, Description: et.Description, Archived: et.Archived, Deprecated: ptr(et.Deprecated),
			Schemas: et.Schemas, GroupName: et.GroupName, FeatureFlag: et.FeatureFlag,
		})
	}
	_, keyB, _ := env.NewTenant("second")
	b := env.SDK(keyB)
	if err := b.Environment.Import(ctx, in, nil); err != nil {
		t.Fatalf("import: %v", err)
	}
	got, err := b.Environment.Export(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(o *models.EnvironmentOut) (map[string]any, []models.EventTypeOut) {
		s := map[string]any{}
		for k, v := range *o.Settings {
			if k != "updatedAt" {
				s[k] = v
			}
		}
		ets := slices.Clone(o.EventTypes)
		for i := range ets {
			ets[i].CreatedAt, ets[i].UpdatedAt = exp.CreatedAt, exp.CreatedAt
		}
		return s, ets
	}
	ws, wets := strip(exp)
	gs, gets := strip(got)
	if d := diff(ws, gs); d != "" {
		t.Errorf("settings after the round trip :\n%s", d)
	}
	if d := diff(wets, gets); d != "" {
		t.Errorf("event types after the round trip :\n%s", d)
	}
	if (*got.Settings)["theme"] != "dark" || len(gets) != 3 {
		t.Errorf("second tenant's export = %+v", got)
	}
	// Connectors are refused, not dropped.
	if err := b.Environment.Import(ctx, models.EnvironmentIn{Connectors: []models.ConnectorIn{{Name: "x", Transformation: "y"}}}, nil); sdkStatus(err) != 422 {
		t.Errorf("import with connectors: %v, want 422", err)
	}
}
