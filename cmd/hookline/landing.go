package main

import (
	"context"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/tenants"
)

// The landing page at / links everything one process serves: the API's
// OpenAPI document, health, metrics where served, the portal and the
// console; under `hookline dev` also the demo receiver and links that
// open the demo's portal and console. Before it, / answered a JSON 404.

// devLanding is what `hookline dev` adds to the landing page.
type devLanding struct {
	tenantID, appID string
	// portalLink mints a fresh portal link of the demo application.
	portalLink func() (string, error)
	// consoleLink mints a one-time link into the demo tenant's console.
	consoleLink func(ctx context.Context) (string, error)
}

// Paths of the dev-only redirects the landing page links to: each mints
// a fresh link and redirects to it, for requests from this machine only.
const (
	devPortalPath  = "/dev/portal"
	devConsolePath = "/dev/console"
)

// favicon is a small mark, so that no page's favicon.ico request is a 404.
const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f4f99"/><path d="M9 8v16M23 8v16M9 16h14" stroke="#fff" stroke-width="3.5" stroke-linecap="round"/></svg>`

// mountLanding serves / and /favicon.ico on the API's engine, and the dev
// redirects (which answer 404 outside `hookline dev`).
func (a *App) mountLanding() {
	e := a.server.Engine()
	e.GET("/", func(c *gin.Context) { a.serveLanding(c.Writer, c.Request) })
	e.GET("/favicon.ico", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		c.Data(http.StatusOK, "image/svg+xml", []byte(favicon))
	})
	e.GET(devPortalPath, func(c *gin.Context) { a.serveDevRedirect(c.Writer, c.Request) })
	e.GET(devConsolePath, func(c *gin.Context) { a.serveDevRedirect(c.Writer, c.Request) })
}

type landingLink struct {
	Href, Title, Note string
}

type landingData struct {
	Version string
	Dev     bool
	Demo    []landingLink
	Links   []landingLink
}

var landingTemplate = template.Must(template.New("landing").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Hookline</title>
<link rel="icon" href="/favicon.ico">
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
main{max-width:46rem;margin:0 auto;padding:2rem 1.25rem}
h1{font-size:1.6rem;margin:0 0 .25rem} h2{font-size:1.1rem;margin:2rem 0 .5rem}
p.sub{margin:0;color:#57606a}
ul{list-style:none;padding:0;margin:0}
li{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:.75rem 1rem;margin:.5rem 0;overflow-wrap:anywhere}
a{color:#1f4f99;font-weight:600;text-decoration:none} a:hover{text-decoration:underline}
li span{display:block;color:#57606a;font-size:.9rem}
code{font-size:.9em}
</style>
</head>
<body>
<main>
<h1>Hookline</h1>
<p class="sub">Webhooks for SaaS platforms, version {{.Version}}{{if .Dev}}, running under <code>hookline dev</code>{{end}}.</p>
{{if .Dev}}<h2>The demo</h2>
<ul>{{range .Demo}}<li><a href="{{.Href}}">{{.Title}}</a><span>{{.Note}}</span></li>{{end}}</ul>
{{end}}<h2>This server</h2>
<ul>{{range .Links}}<li><a href="{{.Href}}">{{.Title}}</a><span>{{.Note}}</span></li>{{end}}</ul>
</main>
</body>
</html>
`))

// landing lists the links of this process, the demo's first under dev.
func (a *App) landing() landingData {
	d := landingData{Version: version, Dev: a.dev != nil}
	if a.dev != nil {
		d.Demo = []landingLink{
			{demoReceiverPath, "Demo receiver", "The messages the demo endpoint received, each signature checked (refreshes itself)."},
			{devPortalPath, "Customer portal of " + demoAppUID, "What your customers see: endpoints, logs, event types. Opens with a fresh link."},
			{devConsolePath, "Tenant console of the demo tenant", "Your view as a Hookline tenant: applications, failures, API keys, usage. Opens with a one-time link."},
		}
	}
	d.Links = []landingLink{
		{"/api/v1/openapi.json", "API reference (OpenAPI)", "The Svix-compatible API this server speaks; Svix's SDKs work against it."},
		{"/api/v1/health", "Health", "Whether PostgreSQL and Redis answer (also /healthz and /readyz for orchestrators)."},
	}
	if a.metricsOnPublicListener() {
		note := "Prometheus metrics."
		if a.cfg.MetricsToken != "" {
			note = "Prometheus metrics (send Authorization: Bearer HOOKLINE_METRICS_TOKEN)."
		}
		d.Links = append(d.Links, landingLink{"/metrics", "Metrics", note})
	}
	d.Links = append(d.Links,
		landingLink{"/portal/", "Customer portal", "Opened by a link your application mints per customer (POST /api/v1/auth/app-portal-access/{app})."},
		landingLink{"/console/", "Tenant console", "Opened by a one-time link: hookline console-link TENANT_ID."},
	)
	return d
}

func (a *App) serveLanding(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'")
	if err := landingTemplate.Execute(w, a.landing()); err != nil {
		a.log.Warn("landing page", "err", err)
	}
}

// serveDevRedirect mints a fresh portal or console link of the demo and
// redirects to it. Only under `hookline dev`, and only for requests from
// this machine: the links grant access to the demo tenant.
func (a *App) serveDevRedirect(w http.ResponseWriter, r *http.Request) {
	if a.dev == nil {
		http.NotFound(w, r)
		return
	}
	if !fromLoopback(r) {
		http.Error(w, "these links open only from the machine hookline dev runs on", http.StatusForbidden)
		return
	}
	var link string
	var err error
	if r.URL.Path == devPortalPath {
		link, err = a.dev.portalLink()
	} else {
		link, err = a.dev.consoleLink(r.Context())
	}
	if err != nil {
		a.log.Warn("minting a demo link", "err", err, "path", r.URL.Path)
		http.Error(w, "could not mint the link: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, link, http.StatusFound)
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newDevLanding builds the demo's links for the landing page and the
// banner: portal links valid for a week, console links for the console's
// default (one use).
func (a *App) newDevLanding(d devDemo) *devLanding {
	return &devLanding{
		tenantID: d.tenantID, appID: d.appID,
		portalLink: func() (string, error) {
			tok, _, err := portal.NewAppTokens(a.cfg.JWTSecret, nil).Mint(tenants.AppToken{TenantID: d.tenantID, AppID: d.appID}, 7*24*time.Hour)
			if err != nil {
				return "", err
			}
			return a.cfg.PublicURL + "/portal/#key=" + tok, nil
		},
		consoleLink: func(ctx context.Context) (string, error) {
			l, err := console.MintLink(ctx, a.store, a.cfg.PublicURL, d.tenantID, 0)
			return l.URL, err
		},
	}
}

// requestLogLevel is the level of the API's per-request log line: debug
// under `hookline dev` (the demo receiver's page and the portal poll every
// few seconds), info otherwise.
func (c Config) requestLogLevel() slog.Level {
	if c.Dev {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
