package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/testenv"
)

// callDoc is testenv.Call through the validating client: the answer must
// match the server's OpenAPI document, maxConcurrency included.
func callDoc(t *testing.T, env *testenv.Env, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := testenv.ValidatingClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// capOf reads maxConcurrency from an endpoint body: nil when absent.
func capOf(t *testing.T, body string) *int {
	t.Helper()
	var out map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("endpoint body %q: %v", body, err)
	}
	raw, ok := out["maxConcurrency"]
	if !ok {
		return nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatalf("maxConcurrency = %s, not an integer", raw)
	}
	return &n
}

func capString(p *int) string {
	if p == nil {
		return "absent"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

// TestEndpoint_MaxConcurrency: the Hookline field maxConcurrency (an
// endpoint's lane cap) is created, read back (through raw HTTP and the
// official SDK, whose strict decoding must not trip on it), kept by a
// PUT from the SDK (which cannot send it), changed and cleared by PATCH,
// refused with a 422 naming the field when out of range or mistyped, and
// out of another tenant's reach; the stored value is what the worker's
// lane reads.
func TestEndpoint_MaxConcurrency(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	sdk := env.SDK(env.APIKey)
	app, err := sdk.Application.Create(ctx, models.ApplicationIn{Name: "lanes"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/app/" + app.Id + "/endpoint"
	stored := func(id string) *int {
		t.Helper()
		cfg, err := env.Store.LoadEndpointConfig(ctx, env.TenantID, id)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.MaxConcurrency == 0 {
			return nil
		}
		return &cfg.MaxConcurrency
	}
	want := func(what string, got *int, w *int) {
		t.Helper()
		if capString(got) != capString(w) {
			t.Errorf("%s: maxConcurrency %s, want %s", what, capString(got), capString(w))
		}
	}

	code, body := callDoc(t, env, "POST", base, env.APIKey, `{"url":"http://127.0.0.1:9/a","maxConcurrency":3}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var ep struct{ ID string }
	_ = json.Unmarshal([]byte(body), &ep)
	want("create answer", capOf(t, body), ptr(3))
	want("stored after create", stored(ep.ID), ptr(3))
	code, body = callDoc(t, env, "GET", base+"/"+ep.ID, env.APIKey, "")
	if code != http.StatusOK {
		t.Fatalf("get: %d %s", code, body)
	}
	want("get", capOf(t, body), ptr(3))

	// The SDK reads the endpoint (its models have no such field) and
	// replaces it with a PUT that cannot carry the field: the cap stays.
	got, err := sdk.Endpoint.Get(ctx, app.Id, ep.ID)
	if err != nil || got.Url != "http://127.0.0.1:9/a" {
		t.Fatalf("SDK get: %+v %v", got, err)
	}
	if _, err := sdk.Endpoint.Update(ctx, app.Id, ep.ID, models.EndpointUpdate{Url: "http://127.0.0.1:9/b", Description: ptr("moved")}); err != nil {
		t.Fatalf("SDK update: %v", err)
	}
	code, body = callDoc(t, env, "GET", base+"/"+ep.ID, env.APIKey, "")
	want("after an SDK PUT", capOf(t, body), ptr(3))
	want("stored after an SDK PUT", stored(ep.ID), ptr(3))
	if list, err := sdk.Endpoint.List(ctx, app.Id, nil); err != nil || len(list.Data) != 1 || list.Data[0].Url != "http://127.0.0.1:9/b" {
		t.Fatalf("SDK list: %+v %v", list, err)
	}

	// A raw PUT may set it, and an explicit null there resets it.
	code, body = callDoc(t, env, "PUT", base+"/"+ep.ID, env.APIKey, `{"url":"http://127.0.0.1:9/b","maxConcurrency":1000}`)
	if code != http.StatusOK {
		t.Fatalf("put: %d %s", code, body)
	}
	want("put 1000", capOf(t, body), ptr(1000))
	code, body = callDoc(t, env, "PUT", base+"/"+ep.ID, env.APIKey, `{"url":"http://127.0.0.1:9/b","maxConcurrency":null}`)
	want("put null", capOf(t, body), nil)
	want("stored after put null", stored(ep.ID), nil)

	// PATCH: a value sets it, absence keeps it, null clears it.
	code, body = callDoc(t, env, "PATCH", base+"/"+ep.ID, env.APIKey, `{"maxConcurrency":1}`)
	if code != http.StatusOK {
		t.Fatalf("patch: %d %s", code, body)
	}
	want("patch 1", capOf(t, body), ptr(1))
	if _, err := sdk.Endpoint.Patch(ctx, app.Id, ep.ID, models.EndpointPatch{Description: ptr("via the SDK")}); err != nil {
		t.Fatalf("SDK patch: %v", err)
	}
	want("after an SDK patch without the field", stored(ep.ID), ptr(1))
	code, body = callDoc(t, env, "PATCH", base+"/"+ep.ID, env.APIKey, `{"maxConcurrency":null}`)
	if code != http.StatusOK {
		t.Fatalf("patch null: %d %s", code, body)
	}
	want("patch null", capOf(t, body), nil)
	want("stored after patch null", stored(ep.ID), nil)

	// Out of range or mistyped: a 422 that names the field; nothing changes.
	if code, body := callDoc(t, env, "PATCH", base+"/"+ep.ID, env.APIKey, `{"maxConcurrency":7}`); code != http.StatusOK {
		t.Fatalf("patch 7: %d %s", code, body)
	}
	for _, tc := range []struct{ name, method, path, body string }{
		{"CreateZero", "POST", base, `{"url":"http://127.0.0.1:9/c","maxConcurrency":0}`},
		{"CreateOver", "POST", base, `{"url":"http://127.0.0.1:9/c","maxConcurrency":1001}`},
		{"CreateString", "POST", base, `{"url":"http://127.0.0.1:9/c","maxConcurrency":"x"}`},
		{"CreateFraction", "POST", base, `{"url":"http://127.0.0.1:9/c","maxConcurrency":2.5}`},
		{"PutZero", "PUT", base + "/" + ep.ID, `{"url":"http://127.0.0.1:9/b","maxConcurrency":0}`},
		{"PutNegative", "PUT", base + "/" + ep.ID, `{"url":"http://127.0.0.1:9/b","maxConcurrency":-1}`},
		{"PatchOver", "PATCH", base + "/" + ep.ID, `{"maxConcurrency":1001}`},
		{"PatchString", "PATCH", base + "/" + ep.ID, `{"maxConcurrency":"x"}`},
		{"PatchHuge", "PATCH", base + "/" + ep.ID, `{"maxConcurrency":1e30}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := callDoc(t, env, tc.method, tc.path, env.APIKey, tc.body)
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %d %s, want 422", tc.body, code, body)
			}
			if _, loc := testenv.DecodeError(t, body); !slices.Equal(loc, []string{"body", "maxConcurrency"}) {
				t.Errorf("%s: loc %v, want [body maxConcurrency] (%s)", tc.body, loc, body)
			}
		})
	}
	want("stored after refused changes", stored(ep.ID), ptr(7))
	if list, err := sdk.Endpoint.List(ctx, app.Id, nil); err != nil || len(list.Data) != 1 {
		t.Errorf("a refused create made an endpoint: %+v %v", list, err)
	}

	// Another tenant neither sees nor changes it.
	_, keyB, _ := env.NewTenant("B")
	for _, m := range []struct{ method, body string }{{"GET", ""}, {"PATCH", `{"maxConcurrency":null}`}, {"PUT", `{"url":"http://127.0.0.1:9/x","maxConcurrency":2}`}} {
		code, body := callDoc(t, env, m.method, base+"/"+ep.ID, keyB, m.body)
		if code != http.StatusNotFound {
			t.Errorf("tenant B %s: %d %s, want 404", m.method, code, body)
		}
	}
	want("stored after tenant B tried", stored(ep.ID), ptr(7))
}

// TestOpenAPI_MaxConcurrencyDocumented: the field is in the document on
// every endpoint shape, bounded as the server bounds it.
func TestOpenAPI_MaxConcurrencyDocumented(t *testing.T) {
	t.Parallel()
	b, err := api.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Type        any    `json:"type"`
					Minimum     *int   `json:"minimum"`
					Maximum     *int   `json:"maximum"`
					Description string `json:"description"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"EndpointIn", "EndpointUpdate", "EndpointPatch", "EndpointOut", "MessageEndpointOut"} {
		p, ok := doc.Components.Schemas[name].Properties["maxConcurrency"]
		if !ok {
			t.Errorf("%s has no maxConcurrency", name)
			continue
		}
		if p.Minimum == nil || *p.Minimum != 1 || p.Maximum == nil || *p.Maximum != 1000 || p.Description == "" {
			t.Errorf("%s.maxConcurrency = %+v, want 1..1000 with a description", name, p)
		}
	}
}
