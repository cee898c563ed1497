package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck GETs a health URL and fails unless it answers 2xx: the
// container health check, for images that have no curl.
func runHealthcheck(ctx context.Context, args []string, stdout io.Writer) error {
	u := "http://127.0.0.1:8080/healthz"
	if len(args) > 0 {
		u = args[0]
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &usageError{"usage: hookline healthcheck [URL]"}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("health check %s: %s %s", u, resp.Status, body)
	}
	fmt.Fprintf(stdout, "%s\n", body)
	return nil
}

// metricsOnly serves /metrics on HOOKLINE_METRICS_LISTEN, behind
// HOOKLINE_METRICS_TOKEN when that is set.
func (a *App) metricsOnly() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.guardMetrics(a.metrics.Handler()))
	return mux
}

func (a *App) guardMetrics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := a.cfg.MetricsToken; t != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(t)) != 1 {
				http.Error(w, `{"code":"authentication_failed","detail":"metrics need Authorization: Bearer <HOOKLINE_METRICS_TOKEN>"}`, http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// metricsOnPublicListener reports whether /metrics is served on
// HOOKLINE_LISTEN: only with HOOKLINE_METRICS_TOKEN set, or in `hookline
// dev`. Metrics name routes, queues and volumes; they are not for the
// internet to read. A dedicated HOOKLINE_METRICS_LISTEN serves them there
// instead, with or without a token.
func (a *App) metricsOnPublicListener() bool {
	return a.cfg.MetricsListen == "" && (a.cfg.MetricsToken != "" || a.cfg.Dev)
}

// opsHandler serves /healthz, /readyz and /metrics for a worker-only
// process, which has no API listener of its own.
func (a *App) opsHandler() http.Handler {
	mux := http.NewServeMux()
	if a.metricsOnPublicListener() {
		mux.Handle("GET /metrics", a.guardMetrics(a.metrics.Handler()))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","version":%q}`, version)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		dbErr := a.store.Ping(ctx)
		redisErr := a.redis.Ping(ctx).Err()
		switch {
		case a.draining.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status":"draining"}`)
		case dbErr != nil || redisErr != nil:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"status":"unavailable","database":%q,"redis":%q}`, okOrError(dbErr), okOrError(redisErr))
		default:
			fmt.Fprint(w, `{"status":"ok","database":"ok","redis":"ok"}`)
		}
	})
	return mux
}

func okOrError(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
