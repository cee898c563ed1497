package testenv

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	svix "github.com/svix/svix-webhooks/go"
)

func BenchmarkValidatingClient(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"ep_x","url":"http://x","description":"","version":1,"metadata":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}`)
	}))
	defer srv.Close()
	for _, validate := range []bool{false, true} {
		b.Run(fmt.Sprint("validate=", validate), func(b *testing.B) {
			o := &svix.SvixOptions{ServerUrl: mustURL(srv.URL)}
			if validate {
				o.HTTPClient = ValidatingClient(b)
			}
			c, _ := svix.New("k", o)
			for b.Loop() {
				_, _ = c.Endpoint.Get(context.Background(), "app_x", "ep_x")
			}
		})
	}
}
