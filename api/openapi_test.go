package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// TestOpenAPI_RouteTable fails when a registered route is missing from the
// served document, or the document names a route the server does not
// register. The only routes left out on purpose are openAPIExcluded.
func TestOpenAPI_RouteTable(t *testing.T) {
	t.Parallel()
	// MetricsHandler set: /metrics is registered only then.
	s := NewServer(Deps{Log: slog.New(slog.DiscardHandler), MetricsHandler: http.NotFoundHandler()}, Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for p, item := range doc.Paths {
		for m := range item {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options":
				documented[strings.ToUpper(m)+" "+p] = true
			}
		}
	}
	routes := s.Engine().Routes()
	served := map[string]bool{}
	for _, r := range routes {
		name := r.Method + " " + r.Path
		if slices.Contains(openAPIExcluded, name) {
			continue
		}
		served[r.Method+" "+oaPath(r.Path)] = true
		if !documented[r.Method+" "+oaPath(r.Path)] {
			t.Errorf("route %s is served but not in the OpenAPI document: add it to openapi_routes.go", name)
		}
	}
	for name := range documented {
		if !served[name] {
			t.Errorf("the OpenAPI document names %s, which the server does not serve", name)
		}
	}
	for _, name := range openAPIExcluded {
		method, path, _ := strings.Cut(name, " ")
		if !slices.ContainsFunc(routes, func(r gin.RouteInfo) bool { return r.Method == method && r.Path == path }) {
			t.Errorf("openAPIExcluded lists %s, which is not registered", name)
		}
	}
	if len(served) < 75 {
		t.Errorf("only %d routes compared; the route walk is broken", len(served))
	}
}

// TestOpenAPI_Valid31 loads the document with kin-openapi as OpenAPI 3.1
// and validates it: structure, refs, path parameters, unique operation ids.
func TestOpenAPI_Valid31(t *testing.T) {
	t.Parallel()
	b, err := OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("document is not OpenAPI 3.1")
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	// Converted from Svix's 3.0: no nullable keyword survives.
	if strings.Contains(string(b), `"nullable"`) {
		t.Errorf("document still uses the 3.0 nullable keyword")
	}
	// The operational events are documented as webhooks.
	for _, w := range []string{"EndpointDisabledEvent", "EndpointEnabledEvent", "MessageAttemptExhaustedEvent", "BackgroundTaskFinishedEvent"} {
		if doc.Webhooks[w] == nil {
			t.Errorf("webhook %s is not documented", w)
		}
	}
}
