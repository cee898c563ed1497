package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/tenants"
)

// TestTokenSource_SharedAcrossProcesses: token sources of one endpoint
// revision in several processes (one each here, sharing Redis) make one
// token request between them, however many goroutines ask at once; a
// token the endpoint refused is dropped for all, and a process that saw
// an older token refused does not drop the newer one.
func TestTokenSource_SharedAcrossProcesses(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": 3600})
	}))
	defer ts.Close()
	redisURL, ns := redistest.Namespace(t)
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	cfg := tenants.OAuthConfig{GrantType: tenants.GrantClientCredentials, AuthMethod: tenants.AuthClientSecretBasic,
		ClientID: "c", ClientSecret: "s", TokenURL: ts.URL + "/token"}
	process := func() *tokenSource {
		return newTokenSource(cfg, &http.Client{}, newSharedToken(rdb, ns, "ep_1", 7))
	}
	ctx := context.Background()
	procs := []*tokenSource{process(), process(), process()}
	var wg sync.WaitGroup
	got := make([]string, 30)
	errs := make([]error, 30)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = procs[i%3].token(ctx) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != "tok-1" {
			t.Fatalf("caller %d: %q, %v; want tok-1", i, got[i], errs[i])
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d token requests from three processes, want 1", n)
	}

	// The endpoint refuses tok-1: process 0 drops it and fetches tok-2;
	// a fresh process finds tok-2 in Redis.
	procs[0].invalidate(ctx, "tok-1")
	if tok, err := procs[0].token(ctx); err != nil || tok != "tok-2" {
		t.Fatalf("after the 401: %q, %v", tok, err)
	}
	// Process 1 still had tok-1 and sees it refused later: it must not
	// drop tok-2.
	procs[1].invalidate(ctx, "tok-1")
	if tok, err := process().token(ctx); err != nil || tok != "tok-2" {
		t.Errorf("a new process: %q, %v; want the shared tok-2", tok, err)
	}
	if tok, err := procs[1].token(ctx); err != nil || tok != "tok-2" {
		t.Errorf("process 1 after dropping tok-1: %q, %v; want tok-2", tok, err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d token requests in all, want 2", n)
	}
	// Another revision is another token.
	if tok, err := newTokenSource(cfg, &http.Client{}, newSharedToken(rdb, ns, "ep_1", 8)).token(ctx); err != nil || tok != "tok-3" {
		t.Errorf("next revision: %q, %v; want tok-3", tok, err)
	}
}
