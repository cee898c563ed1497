package portal

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy limits what the portal's pages may load and run:
// only this origin's scripts, styles and API, and logos from https sites
// (or a local server in development). Framing is not decided here; the
// API adds a frame-ancestors policy per tenant.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: https: http://localhost:* http://127.0.0.1:*; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; object-src 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves the portal under /portal/. Create it with New; it is
// immutable and safe for concurrent use.
type Handler struct {
	assets map[string]asset // by path under static/
}

// New returns the portal's handler. It reads and fingerprints the embedded
// files once; an error means the binary was built without them.
func New() (*Handler, error) {
	h := &Handler{assets: map[string]asset{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		// Some systems map .js to text/plain; module scripts need a
		// JavaScript type, so fix the ones we ship.
		switch path.Ext(p) {
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".html":
			ctype = "text/html; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		h.assets[strings.TrimPrefix(p, "static/")] = asset{
			body: b, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read portal assets: %w", err)
	}
	for _, must := range []string{"boot.html", "index.html", "app.js"} {
		if _, ok := h.assets[must]; !ok {
			return nil, fmt.Errorf("portal asset %s is missing", must)
		}
	}
	return h, nil
}

// ServeHTTP answers GET and HEAD for the bootstrap page (/portal/), the
// application (/portal/o/{tenant}/) and the files under /portal/assets/.
// Anything else is a 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	var name string
	switch {
	case p == "/portal/":
		name = "boot.html"
	case isAppPath(p):
		name = "index.html"
	case strings.HasPrefix(p, "/portal/assets/"):
		name = strings.TrimPrefix(p, "/portal/assets/")
		if name == "boot.html" || name == "index.html" || strings.Contains(name, "..") {
			name = ""
		}
	}
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Add("Content-Security-Policy", contentSecurityPolicy)
	if name == "boot.html" {
		// The bootstrap page shows nothing and must load inside any
		// tenant's dashboard before it knows which tenant it serves (the
		// token is in the fragment); it then moves to the tenant's page,
		// which carries that tenant's frame-ancestors. Say so explicitly.
		hdr.Add("Content-Security-Policy", "frame-ancestors *")
	}
	// The token travels in the URL fragment, which browsers never send;
	// no-referrer also keeps the page's path off other sites' logs.
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Type", a.ctype)
	hdr.Set("ETag", a.etag)
	// Revalidate every time: a deploy must never mix old and new modules,
	// and an ETag match costs only a 304.
	hdr.Set("Cache-Control", "no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// isAppPath matches /portal/o/{tenant}/ with one non-empty segment.
func isAppPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/portal/o/")
	if !ok || !strings.HasSuffix(rest, "/") {
		return false
	}
	tenant := strings.TrimSuffix(rest, "/")
	return tenant != "" && !strings.Contains(tenant, "/")
}
