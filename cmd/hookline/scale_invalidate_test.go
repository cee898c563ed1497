//go:build scale

package main

import (
	"testing"
	"time"

	"github.com/hookline/hookline/store/storetest"
)

// TestScale_InvalidationAcrossProcesses runs two serve processes on one
// database and Redis. A key that process B has cached is revoked through
// process A's operator API, and B refuses it within 1 s — a tenth of its
// credential cache's TTL, so only the pub/sub invalidation can do it. The
// same for a suspended tenant's other key.
func TestScale_InvalidationAcrossProcesses(t *testing.T) {
	env := testSecrets(storetest.NewDatabase(t))
	env["HOOKLINE_REDIS_URL"], env["HOOKLINE_QUEUE"] = redistestNamespace(t)
	a := startRole(t, "serve", env)
	b := startRole(t, "serve", env)

	call := func(method, url, token, body string) (int, map[string]any) {
		t.Helper()
		return callJSON(t, method, url, token, body)
	}
	refusedOnB := func(what, token string) {
		t.Helper()
		refusedWithin(t, what, time.Second, func() int { code, _ := call("GET", b.base+"/api/v1/app", token, ""); return code }, 401, 403)
	}

	tenantID, key, second := tenantWithTwoKeys(t, a.base, scaleOpToken)
	for _, k := range []string{key["key"].(string), second["key"].(string)} {
		if code, out := call("GET", b.base+"/api/v1/app", k, ""); code != 200 { // now cached in b
			t.Fatalf("key before revocation: %d %v", code, out)
		}
	}

	if code, out := call("DELETE", a.base+"/admin/v1/tenants/"+tenantID+"/api-keys/"+key["id"].(string), scaleOpToken, ""); code/100 != 2 {
		t.Fatalf("revoke: %d %v", code, out)
	}
	refusedOnB("revoked key", key["key"].(string))

	if code, out := call("POST", a.base+"/admin/v1/tenants/"+tenantID+"/suspend", scaleOpToken, ""); code/100 != 2 {
		t.Fatalf("suspend: %d %v", code, out)
	}
	refusedOnB("suspended tenant", second["key"].(string))
}
