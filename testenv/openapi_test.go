package testenv

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	svix "github.com/svix/svix-webhooks/go"
)

// recordingTB keeps the errors a validatingTransport reports instead of
// failing the test.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestValidatingClient: a server answering the SDK with a wrong body, an
// undocumented status and an undocumented route is caught; a right answer
// passes.
func TestValidatingClient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/app/app_good":
			fmt.Fprint(w, `{"id":"app_good","name":"n","uid":null,"rateLimit":null,"throttleRate":null,"metadata":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}`)
		case "/api/v1/app/app_bad":
			fmt.Fprint(w, `{"id":5,"name":"n","metadata":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}`)
		case "/api/v1/app/app_nullname":
			fmt.Fprint(w, `{"id":"app_nullname","name":null,"metadata":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}`)
		case "/api/v1/app/app_badtime":
			fmt.Fprint(w, `{"id":"app_badtime","name":"n","metadata":{},"createdAt":"yesterday","updatedAt":"2026-01-01T00:00:00Z"}`)
		case "/api/v1/app/app_teapot":
			w.WriteHeader(http.StatusTeapot)
			fmt.Fprint(w, `{"code":"teapot","detail":"x"}`)
		default:
			w.WriteHeader(404)
			fmt.Fprint(w, `{"code":"not_found","detail":"x"}`)
		}
	}))
	defer srv.Close()
	rec := &recordingTB{TB: t}
	c, err := svix.New("key", &svix.SvixOptions{ServerUrl: mustURL(srv.URL), HTTPClient: ValidatingClient(rec)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := map[string]string{
		"app_good":     "",
		"app_bad":      "does not match",
		"app_nullname": "does not match",
		"app_badtime":  "does not match",
		"app_teapot":   "does not match",
	}
	for id, wantErr := range want {
		rec.errs = nil
		_, _ = c.Application.Get(ctx, id)
		got := strings.Join(rec.errs, "\n")
		if (wantErr == "") != (got == "") || !strings.Contains(got, wantErr) {
			t.Errorf("GET app %s: validation errors %q, want one containing %q", id, got, wantErr)
		}
	}
	rec.errs = nil
	_, _ = c.Integration.List(ctx, "app_good", nil) // integrations are not served
	if len(rec.errs) == 0 || !strings.Contains(rec.errs[0], "not in the document") {
		t.Errorf("undocumented route: errors %q", rec.errs)
	}
}
