//go:build scale

package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/dbtest"
)

// TestScale_InvalidationAcrossProcesses runs two serve processes on one
// database and Redis. A key that process B has cached is revoked through
// process A's operator API, and B refuses it within 1 s — a tenth of its
// credential cache's TTL, so only the pub/sub invalidation can do it. The
// same for a suspended tenant's other key.
func TestScale_InvalidationAcrossProcesses(t *testing.T) {
	env := testSecrets(dbtest.NewDatabase(t))
	env["HOOKLINE_REDIS_URL"], env["HOOKLINE_QUEUE"] = redistestNamespace(t)
	a := startRole(t, "serve", env)
	b := startRole(t, "serve", env)

	call := func(method, url, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	refusedWithin := func(what, token string, d time.Duration) {
		t.Helper()
		start := time.Now()
		for {
			code, _ := call("GET", b.base+"/api/v1/app", token, "")
			if code == 401 || code == 403 {
				t.Logf("%s: refused by the other process after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > d {
				t.Fatalf("%s: the other process still answers %d after %v", what, code, d)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	code, created := call("POST", a.base+"/admin/v1/tenants", scaleOpToken, `{"name":"Acme"}`)
	if code != 201 {
		t.Fatalf("create tenant: %d %v", code, created)
	}
	tenantID := created["tenant"].(map[string]any)["id"].(string)
	key := created["apiKey"].(map[string]any)
	code, second := call("POST", a.base+"/admin/v1/tenants/"+tenantID+"/api-keys", scaleOpToken, `{"name":"second"}`)
	if code/100 != 2 {
		t.Fatalf("second key: %d %v", code, second)
	}
	for _, k := range []string{key["key"].(string), second["key"].(string)} {
		if code, out := call("GET", b.base+"/api/v1/app", k, ""); code != 200 { // now cached in b
			t.Fatalf("key before revocation: %d %v", code, out)
		}
	}

	if code, out := call("DELETE", a.base+"/admin/v1/tenants/"+tenantID+"/api-keys/"+key["id"].(string), scaleOpToken, ""); code/100 != 2 {
		t.Fatalf("revoke: %d %v", code, out)
	}
	refusedWithin("revoked key", key["key"].(string), time.Second)

	if code, out := call("POST", a.base+"/admin/v1/tenants/"+tenantID+"/suspend", scaleOpToken, ""); code/100 != 2 {
		t.Fatalf("suspend: %d %v", code, out)
	}
	refusedWithin("suspended tenant", second["key"].(string), time.Second)
}
