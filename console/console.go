package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/tenants"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy is the portal's policy, plus no framing at all:
// the console holds tenant-wide power, so no other site may put it in a
// frame (clickjacking).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: https: http://localhost:* http://127.0.0.1:*; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'"

// Token lifetimes. A session is short so that a token left in a tab is
// worth little; a link only needs to survive being pasted into a browser.
const (
	DefaultSessionTTL = time.Hour
	DefaultLinkTTL    = 15 * time.Minute
)

// Deps are the console's collaborators, built by main.
type Deps struct {
	Store Store
	// Authenticate resolves an Authorization header to a tenant (any
	// tenant credential: console session, API key, tenant JWT); app-portal
	// tokens must be refused. Required.
	Authenticate func(ctx context.Context, header string) (tenantID string, err error)
	// WriteError answers a request with an error, as the API does.
	// Required.
	WriteError func(c *gin.Context, err error)
	// Admin returns nil when the request carries the operator token.
	// Required for the operator's console-link route.
	Admin func(c *gin.Context) error
	// Forget drops a tenant's cached credentials after a key is revoked,
	// so that the key stops working at once; nil forgets nothing.
	Forget func(tenantID string)
	// Invoices lists a tenant's Stripe invoices (billing.Service); nil
	// means billing is off and the usage page shows none.
	Invoices Invoicer
	// Lanes reads the delivery lanes for the throttled-endpoints view;
	// nil means the view says it cannot see them.
	Lanes Lanes
	Log   *slog.Logger
}

// Invoicer lists a tenant's invoices; *billing.Service implements it.
type Invoicer interface {
	Invoices(ctx context.Context, tenantID string, limit int) ([]billing.Invoice, error)
}

// Options are the console's settings. The zero value means the defaults.
type Options struct {
	// PublicURL is where users reach this server (console links start
	// here).
	PublicURL string
	// SessionTTL and LinkTTL; zero means DefaultSessionTTL and
	// DefaultLinkTTL.
	SessionTTL, LinkTTL time.Duration
}

// Server is the console: its pages and JSON routes. Create it with New; it
// is safe for concurrent use.
type Server struct {
	d      Deps
	opts   Options
	assets map[string]asset
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// New returns the console. It reads and fingerprints the embedded files
// once; an error means the binary was built without them.
func New(d Deps, opts Options) (*Server, error) {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.LinkTTL <= 0 {
		opts.LinkTTL = DefaultLinkTTL
	}
	if d.Forget == nil {
		d.Forget = func(string) {}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{d: d, opts: opts, assets: map[string]asset{}}
	err := fs.WalkDir(static, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
			".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}[path.Ext(p)]
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		s.assets[strings.TrimPrefix(p, "static/")] = asset{body: b, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read console assets: %w", err)
	}
	if _, ok := s.assets["index.html"]; !ok {
		return nil, errors.New("console asset index.html is missing")
	}
	return s, nil
}

// CheckConsoleToken is the API's console-token checker: it returns the
// tenant of a live console session. Every call reads the database, so a
// sign-out applies at once on every process; console traffic is a human
// clicking, which that costs nothing to serve.
func (s *Server) CheckConsoleToken(ctx context.Context, token string) (string, error) {
	ct, err := s.d.Store.FindConsoleSession(ctx, token)
	if errors.Is(err, tenants.ErrNotFound) {
		return "", errSessionEnded
	}
	if err != nil {
		return "", err
	}
	return ct.TenantID, nil
}

var errSessionEnded = &tenants.Error{Code: tenants.CodeUnauthorized,
	Message: "this console session has ended; sign in again"}

// Register adds the console's pages and JSON routes to the engine.
func (s *Server) Register(e *gin.Engine) {
	e.GET("/console", func(c *gin.Context) {
		c.Header("Location", "console/")
		c.Status(http.StatusMovedPermanently)
	})
	e.GET("/console/", s.page)
	e.HEAD("/console/", s.page)
	e.GET("/console/assets/*filepath", s.page)
	e.HEAD("/console/assets/*filepath", s.page)

	e.POST("/console/api/session", s.handle(s.signIn))
	e.GET("/console/api/session", s.authed(s.getSession))
	e.DELETE("/console/api/session", s.authed(s.signOut))
	e.GET("/console/api/overview", s.authed(s.overview))
	e.GET("/console/api/messages", s.authed(s.searchMessages))
	e.GET("/console/api/invoices", s.authed(s.listInvoices))
	e.GET("/console/api/keys", s.authed(s.listKeys))
	e.POST("/console/api/keys", s.authed(s.createKey))
	e.DELETE("/console/api/keys/:key_id", s.authed(s.revokeKey))
	e.GET("/console/api/throttled", s.authed(s.throttled))
	e.POST("/admin/v1/tenants/:tenant_id/console-link", s.handle(s.adminConsoleLink))
}

// handle adapts an error-returning handler to gin, answering errors the
// API's way and keeping every answer out of caches.
func (s *Server) handle(h func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		if err := h(c); err != nil {
			s.d.WriteError(c, err)
		}
	}
}

type tenantKey struct{}

// authed is handle for routes that need tenant credentials; the handler
// reads the tenant with tenantOf.
func (s *Server) authed(h func(*gin.Context) error) gin.HandlerFunc {
	return s.handle(func(c *gin.Context) error {
		tid, err := s.d.Authenticate(c.Request.Context(), c.GetHeader("Authorization"))
		if err != nil {
			return err
		}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), tenantKey{}, tid))
		return h(c)
	})
}

func tenantOf(c *gin.Context) string {
	t, _ := c.Request.Context().Value(tenantKey{}).(string)
	return t
}

// page serves the console's HTML and assets with its security headers.
func (s *Server) page(c *gin.Context) {
	name := "index.html"
	if fp := c.Param("filepath"); fp != "" {
		name = strings.TrimPrefix(fp, "/")
		if name == "index.html" || strings.Contains(name, "..") {
			name = ""
		}
	}
	a, ok := s.assets[name]
	if !ok {
		s.d.WriteError(c, tenants.ErrNotFound)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	if m := c.GetHeader("If-None-Match"); m != "" && m == a.etag {
		c.Status(http.StatusNotModified)
		return
	}
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(a.body))
}

// maxBody bounds the console's JSON request bodies.
const maxBody = 64 << 10

// decode reads a JSON body strictly: unknown fields, trailing data and
// wrong types are a 400 that says what is wrong.
func decode(c *gin.Context, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_json", Message: "the body is not valid JSON for this route: " + err.Error()}
	}
	if dec.More() {
		return &tenants.Error{Code: tenants.CodeBadRequest, Reason: "invalid_json", Message: "the body holds more than one JSON value"}
	}
	return nil
}

func badQuery(name, msg string) error {
	return tenants.InvalidAt([]string{"query", name}, msg)
}
