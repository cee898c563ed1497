package tenants

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Portal themes.
const (
	ThemeAuto  = "auto"
	ThemeLight = "light"
	ThemeDark  = "dark"
)

// MaxFrameOrigins bounds a tenant's list of origins allowed to frame the
// portal; the list becomes one response header.
const MaxFrameOrigins = 20

// PortalSettings is a tenant's branding of the customer portal and the
// origins allowed to embed it. The zero value of each field means "not
// set": the portal falls back to the tenant's name, no logo, its own
// colour, the viewer's preferred theme, and framing by any site.
type PortalSettings struct {
	TenantID     string
	DisplayName  string
	LogoURL      string
	PrimaryColor string // #rrggbb
	Theme        string // auto, light or dark
	FrameOrigins []string
	UpdatedAt    time.Time
}

// PortalSettingsPatch holds a partial update of PortalSettings: nil fields
// keep their value; an empty string (or list) resets a field to its
// default.
type PortalSettingsPatch struct {
	DisplayName  *string
	LogoURL      *string
	PrimaryColor *string
	Theme        *string
	FrameOrigins *[]string
}

// DefaultPortalSettings are the settings of a tenant that never set any.
func DefaultPortalSettings(tenantID string) PortalSettings {
	return PortalSettings{TenantID: tenantID, Theme: ThemeAuto, FrameOrigins: []string{}}
}

// Apply applies p to ps, validating each field it sets: an invalid field
// is an invalid error naming it. Origins are stored normalised (lower
// case, no trailing slash, no duplicates).
func (ps *PortalSettings) Apply(p PortalSettingsPatch) error {
	if p.DisplayName != nil {
		name := strings.TrimSpace(*p.DisplayName)
		if utf8.RuneCountInString(name) > 100 {
			return Invalid("displayName", "at most 100 characters")
		}
		ps.DisplayName = name
	}
	if p.LogoURL != nil {
		if err := ValidateLogoURL(*p.LogoURL); err != nil {
			return err
		}
		ps.LogoURL = *p.LogoURL
	}
	if p.PrimaryColor != nil {
		if err := ValidateColor(*p.PrimaryColor); err != nil {
			return err
		}
		ps.PrimaryColor = strings.ToLower(*p.PrimaryColor)
	}
	if p.Theme != nil {
		switch *p.Theme {
		case ThemeAuto, ThemeLight, ThemeDark:
			ps.Theme = *p.Theme
		case "":
			ps.Theme = ThemeAuto
		default:
			return Invalid("theme", "must be light, dark or auto")
		}
	}
	if p.FrameOrigins != nil {
		origins, err := NormalizeFrameOrigins(*p.FrameOrigins)
		if err != nil {
			return err
		}
		ps.FrameOrigins = origins
	}
	return nil
}

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// ValidateColor accepts "" (the portal's own colour) or #rrggbb.
func ValidateColor(c string) error {
	if c != "" && !colorRE.MatchString(c) {
		return Invalid("primaryColor", "must be a colour written #rrggbb, such as #4f46e5")
	}
	return nil
}

// ValidateLogoURL accepts "" (no logo) or an absolute https URL (http only
// for localhost, for development); the portal shows it in an <img>.
func ValidateLogoURL(raw string) error {
	if raw == "" {
		return nil
	}
	if len(raw) > 2048 {
		return Invalid("logoUrl", "at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return Invalid("logoUrl", "must be an absolute https URL")
	}
	local := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"
	if u.Scheme != "https" && !(u.Scheme == "http" && local) {
		return Invalid("logoUrl", "must be an absolute https URL")
	}
	return nil
}

// hostLabelRE is one DNS label.
var hostLabelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeFrameOrigins checks a list of origins allowed to frame the
// portal and returns it normalised. Each entry is scheme://host[:port] with
// scheme http or https, optionally with a leading "*." wildcard label, as
// CSP frame-ancestors understands it. Nothing else is accepted: the list
// is written into a response header, so a stray space, quote or semicolon
// must never get through.
func NormalizeFrameOrigins(in []string) ([]string, error) {
	if len(in) > MaxFrameOrigins {
		return nil, Invalid("allowedFrameOrigins", fmt.Sprintf("at most %d origins", MaxFrameOrigins))
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, raw := range in {
		o, err := normalizeOrigin(raw)
		if err != nil {
			return nil, Invalid("allowedFrameOrigins", fmt.Sprintf("%q: %v", raw, err))
		}
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out, nil
}

func normalizeOrigin(raw string) (string, error) {
	o := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), "/")
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "", errors.New("must start with http:// or https://")
	}
	host, port, hasPort := strings.Cut(rest, ":")
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", errors.New("the port must be a number between 1 and 65535")
		}
	}
	host = strings.TrimPrefix(host, "*.")
	labels := strings.Split(host, ".")
	if host == "" || len(host) > 253 {
		return "", errors.New("must be an origin such as https://app.example.com, with no path")
	}
	for _, l := range labels {
		if !hostLabelRE.MatchString(l) {
			return "", errors.New("must be an origin such as https://app.example.com, with no path")
		}
	}
	return o, nil
}
