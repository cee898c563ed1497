package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestBadBytes sends the requests the security pass answered with a 500 or
// accepted wrongly: NUL and invalid UTF-8 in paths, query parameters, JSON
// strings and payloads; PUT upserts with uids create would refuse; endless
// custom headers. Each must be a 4xx naming what is wrong, and store
// nothing.
func TestBadBytes(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	app, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "x", UID: ptr("app1")})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/closed", Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	headers := func(n, size int) string {
		h := map[string]string{}
		for i := range n {
			h[fmt.Sprintf("X-H-%05d", i)] = strings.Repeat("v", size)
		}
		b, _ := json.Marshal(map[string]any{"headers": h})
		return string(b)
	}
	epPath := "/api/v1/app/app1/endpoint/" + ep.ID
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		loc                      []string
	}{
		{"IteratorNUL", "GET", "/api/v1/app?iterator=%00", ``, 422, []string{"query", "iterator"}},
		{"IteratorGarbage", "GET", "/api/v1/app?iterator=%22%3B%20drop", ``, 422, []string{"query", "iterator"}},
		{"IteratorTooLong", "GET", "/api/v1/app?iterator=" + strings.Repeat("a", 300), ``, 422, []string{"query", "iterator"}},
		{"AppIDInvalidUTF8", "GET", "/api/v1/app/%ff", ``, 404, nil},
		{"AppIDNUL", "GET", "/api/v1/app/a%00b", ``, 404, nil},
		{"EndpointIDInvalidUTF8", "DELETE", "/api/v1/app/app1/endpoint/%c3%28", ``, 404, nil},
		{"ChannelNUL", "GET", "/api/v1/app/app1/msg?channel=%00", ``, 422, []string{"query", "channel"}},
		{"EventTypesInvalidUTF8", "GET", "/api/v1/app/app1/msg?event_types=%ff", ``, 422, []string{"query", "event_types"}},
		{"QueryKeyNUL", "GET", "/api/v1/app?a%00=1", ``, 422, []string{"query"}},
		{"MalformedQuery", "GET", "/api/v1/app?limit=%zz", ``, 422, []string{"query"}},
		{"NameNUL", "POST", "/api/v1/app", `{"name":"a\u0000"}`, 422, []string{"body", "name"}},
		{"MetadataKeyNUL", "POST", "/api/v1/app", `{"name":"a","metadata":{"k\u0000":"v"}}`, 422, []string{"body", "metadata", "k\x00"}},
		{"NestedNUL", "POST", "/api/v1/app/app1/endpoint", `{"url":"http://127.0.0.1:9/x","channels":["ok","b\u0000"]}`, 422, []string{"body", "channels", "1"}},
		{"BodyInvalidUTF8", "POST", "/api/v1/app", "{\"name\":\"a\xffb\"}", 422, []string{"body"}},
		{"PayloadInvalidUTF8", "POST", "/api/v1/app/app1/msg", "{\"eventType\":\"a.b\",\"payload\":{\"k\":\"\xc3\x28\"}}", 422, []string{"body"}},
		{"EventTypeNUL", "POST", "/api/v1/app/app1/msg", `{"eventType":"a.b\u0000","payload":{}}`, 422, []string{"body", "eventType"}},
		{"EscapedBackslashIsNoNUL", "POST", "/api/v1/app", `{"name":"a\\u0000"}`, 201, nil},
		{"PutUIDNewline", "PUT", "/api/v1/app/a%0Ab", `{"name":"n"}`, 422, []string{"path", "app_id"}},
		{"PutUIDLooksLikeID", "PUT", "/api/v1/app/app_notanid", `{"name":"n"}`, 422, []string{"path", "app_id"}},
		{"PutUIDTooLong", "PUT", "/api/v1/app/" + strings.Repeat("u", 300), `{"name":"n"}`, 422, []string{"path", "app_id"}},
		{"PutUIDSpace", "PUT", "/api/v1/app/a%20b", `{"name":"n"}`, 422, []string{"path", "app_id"}},
		{"PutEndpointUIDLooksLikeID", "PUT", "/api/v1/app/app1/endpoint/ep_notanid", `{"url":"http://127.0.0.1:9/x"}`, 422, []string{"path", "endpoint_id"}},
		{"PutEndpointUIDTooLong", "PUT", "/api/v1/app/app1/endpoint/" + strings.Repeat("e", 257), `{"url":"http://127.0.0.1:9/x"}`, 422, []string{"path", "endpoint_id"}},
		{"HeadersTooMany", "PUT", epPath + "/headers", headers(5000, 100), 422, []string{"body", "headers"}},
		{"HeadersTooManyPatch", "PATCH", epPath + "/headers", headers(101, 1), 422, []string{"body", "headers"}},
		{"HeadersTooBig", "PUT", epPath + "/headers", headers(10, 2000), 422, []string{"body", "headers"}},
		{"HeadersTooManyAtCreate", "POST", "/api/v1/app/app1/endpoint", `{"url":"http://127.0.0.1:9/x",` + headers(101, 1)[1:], 422, []string{"body", "headers"}},
		{"HeadersAtTheLimit", "PUT", epPath + "/headers", headers(100, 100), 204, nil},
		{"PutUIDValid", "PUT", "/api/v1/app/good-uid", `{"name":"n"}`, 201, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, env.URL, tc.method, tc.path, env.APIKey, tc.body)
			if code != tc.status {
				t.Fatalf("status = %d, want %d; body %.300s", code, tc.status, body)
			}
			if code < 400 {
				return
			}
			_, loc := decodeError(t, body)
			if tc.loc != nil && !slices.Equal(loc, tc.loc) {
				t.Errorf("loc = %q, want %q; body %.300s", loc, tc.loc, body)
			}
		})
	}
	pg, err := env.Store.FindApplications(ctx, env.TenantID, tenants.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, a := range pg.Items {
		if a.UID != nil {
			uids = append(uids, *a.UID)
		}
	}
	slices.Sort(uids)
	if want := []string{"app1", "good-uid"}; !slices.Equal(uids, want) {
		t.Errorf("application uids stored = %q, want %q", uids, want)
	}
	h, err := env.Store.EndpointHeaders(ctx, env.TenantID, app.ID, ep.ID)
	if err != nil || len(h) != 100 {
		t.Errorf("endpoint has %d headers (%v), want the 100 of the one accepted request", len(h), err)
	}
}

// TestBadBytes_PayloadNULAccepted: a NUL escape inside a payload is valid
// JSON (RFC 8259) and the payload is stored as bytes, so it is accepted and
// echoed back exactly.
func TestBadBytes_PayloadNULAccepted(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	if _, err := env.Store.CreateApplication(context.Background(), env.TenantID, tenants.ApplicationInput{Name: "x", UID: ptr("app1")}); err != nil {
		t.Fatal(err)
	}
	code, body := call(t, env.URL, "POST", "/api/v1/app/app1/msg", env.APIKey, `{"eventType":"a.b","payload":{"k\u0000":"v\u0000"}}`)
	if code != 202 || !strings.Contains(body, `"payload":{"k\u0000":"v\u0000"}`) || !json.Valid([]byte(body)) {
		t.Fatalf("status %d body %s; want 202 echoing the payload", code, body)
	}
}

// TestStore_ClientDataErrors: a value PostgreSQL cannot store that reaches
// the store anyway (a caller that skipped the API's checks) is a
// invalid-value error (422), not an unknown error (500).
func TestStore_ClientDataErrors(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	_, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a\x00"})
	var ve *tenants.Error
	if !errors.As(err, &ve) {
		t.Errorf("NUL in a name: %v, want an invalid-value error", err)
	}
	_, err = env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "ok", Metadata: map[string]string{"k": "\x00"}})
	if !errors.As(err, &ve) {
		t.Errorf("NUL in metadata (jsonb): %v, want an invalid-value error", err)
	}
}
