package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/testenv"
)

// TestOpenAPI_RouteTable fails when a registered route is missing from the
// served document, or the document names a route the server does not
// register. The only routes left out on purpose are openAPIExcluded.
func TestOpenAPI_RouteTable(t *testing.T) {
	t.Parallel()
	// The whole stack, as main wires it: the portal's and console's routes
	// are mounted on the API's engine.
	env := testenv.New(t, testenv.Options{Console: true})
	resp, err := http.Get(env.URL + "/api/v1/openapi.json")
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
	routes := env.API.Engine().Routes()
	served := map[string]bool{}
	for _, r := range routes {
		name := r.Method + " " + r.Path
		if api.OpenAPIExcluded(r.Method, r.Path) {
			continue
		}
		served[r.Method+" "+openAPIPath(r.Path)] = true
		if !documented[r.Method+" "+openAPIPath(r.Path)] {
			t.Errorf("route %s is served but not in the OpenAPI document: add it to openapi_routes.go", name)
		}
	}
	for name := range documented {
		if !served[name] {
			t.Errorf("the OpenAPI document names %s, which the server does not serve", name)
		}
	}
	for _, name := range api.OpenAPIExcludedRoutes() {
		method, path, _ := strings.Cut(name, " ")
		if !slices.ContainsFunc(routes, func(r gin.RouteInfo) bool { return r.Method == method && r.Path == path }) {
			t.Errorf("the OpenAPI exclusions list %s, which is not registered", name)
		}
	}
	if len(served) < 75 {
		t.Errorf("only %d routes compared; the route walk is broken", len(served))
	}
}

// openAPIPath writes a gin route's parameters as OpenAPI does.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}
