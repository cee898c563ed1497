package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// postJSON posts body to url as token and returns the status and body.
func postJSON(t *testing.T, url, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestImport_BoundedAndChunked is issue 26's first finding: an environment
// import of 10,000 event types, or an OpenAPI import of 7,000 webhooks,
// used to be one savepoint per row inside one transaction and fill
// PostgreSQL's shared lock table (a 500 for the importer, and failures
// for other tenants' transactions meanwhile). Imports now run in chunks
// of one statement each, up to tenants.MaxImportEventTypes per request:
// at the limit they succeed while another tenant keeps writing; past it
// they are a 413 naming the limit, never a 500.
func TestImport_BoundedAndChunked(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	envBody := func(n int, prefix string) []byte {
		types := make([]map[string]any, n)
		for i := range types {
			types[i] = map[string]any{"name": fmt.Sprintf("%s.t%d", prefix, i), "description": "imported",
				"schemas": map[string]any{"1": map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer"}}}}}
		}
		b, _ := json.Marshal(map[string]any{"eventTypes": types})
		return b
	}
	specBody := func(n int) []byte {
		hooks := map[string]any{}
		for i := range n {
			hooks[fmt.Sprintf("spec.h%d", i)] = map[string]any{"post": map[string]any{"summary": "hook"}}
		}
		b, _ := json.Marshal(map[string]any{"spec": map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "t", "version": "1"}, "webhooks": hooks}})
		return b
	}

	// Past the limit: 413, code too_many_event_types, nothing stored.
	for name, tc := range map[string]struct {
		path string
		body []byte
	}{
		"environment 10,000": {"/api/v1/environment/import", envBody(10_000, "big")},
		"openapi 7,000":      {"/api/v1/event-type/import/openapi", specBody(7_000)},
	} {
		code, body := postJSON(t, env.URL+tc.path, env.APIKey, tc.body)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"too_many_event_types"`) ||
			!strings.Contains(body, fmt.Sprint(tenants.MaxImportEventTypes)) {
			t.Errorf("%s: %d %s; want 413 too_many_event_types naming the limit", name, code, body)
		}
	}
	var stored int
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM event_types WHERE tenant_id = $1`, env.TenantID).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("refused imports stored %d event types (%v)", stored, err)
	}

	// At the limit, while another tenant writes: both succeed.
	_, keyB, _ := env.NewTenant("B")
	b := env.SDK(keyB)
	app, err := b.Application.Create(ctx, models.ApplicationIn{Name: "b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := b.EventType.Create(ctx, models.EventTypeIn{Name: fmt.Sprintf("b.e%d", i), Description: "b"}, nil); err != nil {
				errs <- fmt.Errorf("tenant B's event type %d: %w", i, err)
				return
			}
			if _, err := b.Message.Create(ctx, app.Id, models.MessageIn{EventType: "b.x", Payload: map[string]any{"i": i}}, nil); err != nil {
				errs <- fmt.Errorf("tenant B's message %d: %w", i, err)
				return
			}
		}
	}()
	code, body := postJSON(t, env.URL+"/api/v1/environment/import", env.APIKey, envBody(tenants.MaxImportEventTypes, "env"))
	if code != http.StatusNoContent {
		t.Errorf("environment import of %d types: %d %s", tenants.MaxImportEventTypes, code, body)
	}
	code, body = postJSON(t, env.URL+"/api/v1/event-type/import/openapi", env.APIKey, specBody(tenants.MaxImportEventTypes))
	if code != http.StatusOK {
		t.Errorf("OpenAPI import of %d webhooks: %d %.300s", tenants.MaxImportEventTypes, code, body)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM event_types WHERE tenant_id = $1`, env.TenantID).Scan(&stored); err != nil || stored != 2*tenants.MaxImportEventTypes {
		t.Errorf("%d event types stored after two imports of %d (%v)", stored, tenants.MaxImportEventTypes, err)
	}
	// Again: every type updated in place, none added.
	if code, body := postJSON(t, env.URL+"/api/v1/environment/import", env.APIKey, envBody(tenants.MaxImportEventTypes, "env")); code != http.StatusNoContent {
		t.Errorf("repeated import: %d %s", code, body)
	}
	if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM event_types WHERE tenant_id = $1`, env.TenantID).Scan(&stored); err != nil || stored != 2*tenants.MaxImportEventTypes {
		t.Errorf("%d event types after importing the same %d again (%v)", stored, tenants.MaxImportEventTypes, err)
	}
}

// TestImport_DescriptionBound: an imported event type's description is
// bounded as a created one's (4,096 characters): past it, both imports
// answer 422 naming the place and store nothing; at it, they succeed.
func TestImport_DescriptionBound(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	for _, n := range []int{4096, 4097} {
		desc := strings.Repeat("é", n)
		envIn, _ := json.Marshal(map[string]any{"eventTypes": []map[string]any{{"name": fmt.Sprintf("env.d%d", n), "description": desc}}})
		specIn, _ := json.Marshal(map[string]any{"spec": map[string]any{"openapi": "3.1.0", "webhooks": map[string]any{
			fmt.Sprintf("spec.d%d", n): map[string]any{"post": map[string]any{"description": desc}}}}})
		envCode, envBody := postJSON(t, env.URL+"/api/v1/environment/import", env.APIKey, envIn)
		specCode, specBody := postJSON(t, env.URL+"/api/v1/event-type/import/openapi", env.APIKey, specIn)
		if n == 4096 && (envCode != http.StatusNoContent || specCode != http.StatusOK) {
			t.Errorf("descriptions of %d characters: environment %d %.200s, OpenAPI %d %.200s", n, envCode, envBody, specCode, specBody)
		}
		if n == 4097 {
			if envCode != http.StatusUnprocessableEntity || !strings.Contains(envBody, `"description"`) {
				t.Errorf("environment import with a %d-character description: %d %.300s, want 422 naming description", n, envCode, envBody)
			}
			if specCode != http.StatusUnprocessableEntity || !strings.Contains(specBody, "spec.d4097") {
				t.Errorf("OpenAPI import with a %d-character description: %d %.300s, want 422 naming the webhook", n, specCode, specBody)
			}
		}
	}
	var stored int
	if err := env.SQL.QueryRow(context.Background(), `SELECT count(*) FROM event_types WHERE tenant_id = $1 AND name LIKE '%d4097'`, env.TenantID).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("%d event types with over-long descriptions stored (%v)", stored, err)
	}
}
