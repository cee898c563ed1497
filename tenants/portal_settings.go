package tenants

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm/clause"
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
	TenantID     string `gorm:"primaryKey"`
	DisplayName  string
	LogoURL      string
	PrimaryColor string   // #rrggbb
	Theme        string   // auto, light or dark
	FrameOrigins []string `gorm:"serializer:json"`
	UpdatedAt    time.Time
}

// TableName maps PortalSettings to its table.
func (PortalSettings) TableName() string { return "tenant_settings" }

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

// FindPortalSettings returns the tenant's portal settings; a tenant that
// never set any gets the defaults (and no error, so that a public page
// cannot tell whether a tenant exists).
func (s *Store) FindPortalSettings(ctx context.Context, tenantID string) (PortalSettings, error) {
	var ps PortalSettings
	err := s.q(ctx).Where("tenant_id = ?", tenantID).Take(&ps).Error
	if err = translate(err); errors.Is(err, ErrNotFound) {
		return PortalSettings{TenantID: tenantID, Theme: ThemeAuto, FrameOrigins: []string{}}, nil
	}
	if err != nil {
		return PortalSettings{}, fmt.Errorf("find portal settings of %s: %w", tenantID, err)
	}
	if ps.FrameOrigins == nil {
		ps.FrameOrigins = []string{}
	}
	return ps, nil
}

// PatchPortalSettings applies p to the tenant's settings and returns the
// result. An unknown tenant is ErrNotFound; an invalid field a
// *ValidationError naming it. Origins are stored normalised (lower case, no
// trailing slash, no duplicates).
func (s *Store) PatchPortalSettings(ctx context.Context, tenantID string, p PortalSettingsPatch) (PortalSettings, error) {
	if _, err := s.FindTenantByID(ctx, tenantID); err != nil {
		return PortalSettings{}, err
	}
	var out PortalSettings
	err := s.InTx(ctx, func(tx *Store) error {
		// Make sure the row exists, then lock it, so that concurrent
		// patches of different fields never undo each other.
		if err := tx.q(ctx).Exec(`INSERT INTO tenant_settings (tenant_id) VALUES (?) ON CONFLICT DO NOTHING`, tenantID).Error; err != nil {
			return fmt.Errorf("create portal settings: %w", translate(err))
		}
		var cur PortalSettings
		if err := tx.q(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("tenant_id = ?", tenantID).Take(&cur).Error; err != nil {
			return fmt.Errorf("lock portal settings: %w", translate(err))
		}
		if err := cur.apply(p); err != nil {
			return err
		}
		cur.UpdatedAt = s.Now()
		if err := tx.q(ctx).Save(&cur).Error; err != nil {
			return fmt.Errorf("save portal settings: %w", translate(err))
		}
		out = cur
		return nil
	})
	if err != nil {
		return PortalSettings{}, err
	}
	if out.FrameOrigins == nil {
		out.FrameOrigins = []string{}
	}
	return out, nil
}

func (ps *PortalSettings) apply(p PortalSettingsPatch) error {
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
