package tenants

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeFrameOrigins(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string // joined by spaces; "ERR" when refused
	}{
		{nil, ""},
		{[]string{"https://app.example.com"}, "https://app.example.com"},
		{[]string{"HTTPS://App.Example.com/"}, "https://app.example.com"},
		{[]string{"http://localhost:3000", "https://*.example.com:8443"}, "http://localhost:3000 https://*.example.com:8443"},
		{[]string{"https://a.example", "https://a.example/"}, "https://a.example"},
		{[]string{"http://127.0.0.1:8080"}, "http://127.0.0.1:8080"},
		{[]string{"https://a.example/path"}, "ERR"},
		{[]string{"https://a.example; script-src *"}, "ERR"},
		{[]string{"https://a.example 'unsafe-inline'"}, "ERR"},
		{[]string{"'self'"}, "ERR"},
		{[]string{"*"}, "ERR"},
		{[]string{"ftp://a.example"}, "ERR"},
		{[]string{"https://"}, "ERR"},
		{[]string{"https://a.example:0"}, "ERR"},
		{[]string{"https://a.example:080"}, "ERR"},
		{[]string{"https://a.*.example"}, "ERR"},
		{[]string{"https://user@a.example"}, "ERR"},
		{[]string{"https://a.example?x"}, "ERR"},
		{strings.Split(strings.Repeat("https://a.example,", MaxFrameOrigins+1), ",")[:MaxFrameOrigins+1], "ERR"},
	} {
		got, err := NormalizeFrameOrigins(tc.in)
		switch {
		case tc.want == "ERR" && err == nil:
			t.Errorf("%q: accepted as %q", tc.in, got)
		case tc.want != "ERR" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.want != "ERR" && strings.Join(got, " ") != tc.want:
			t.Errorf("%q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateColorAndLogo(t *testing.T) {
	for c, ok := range map[string]bool{"": true, "#4f46e5": true, "#ABCDEF": true, "#abc": false, "red": false, "#4f46e5;": false} {
		if err := ValidateColor(c); (err == nil) != ok {
			t.Errorf("ValidateColor(%q) = %v", c, err)
		}
	}
	for u, ok := range map[string]bool{
		"": true, "https://cdn.example/logo.png": true, "http://localhost:8080/logo.svg": true,
		"http://cdn.example/logo.png": false, "javascript:alert(1)": false, "data:image/png;base64,AAAA": false, "/logo.png": false,
	} {
		if err := ValidateLogoURL(u); (err == nil) != ok {
			t.Errorf("ValidateLogoURL(%q) = %v", u, err)
		}
	}
}

func TestAppTokenRevocations_Revokes(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s1 := "s1"
	r := AppTokenRevocations{
		RevokedIDs: map[string]struct{}{"apptok_gone": {}},
		Expiries: []AppTokenExpiry{
			{IssuedBefore: t0, EffectiveAt: t0},                                                   // expire all at t0
			{SessionID: &s1, IssuedBefore: t0.Add(time.Hour), EffectiveAt: t0.Add(2 * time.Hour)}, // s1, delayed
		},
	}
	for _, tc := range []struct {
		name        string
		id, session string
		issued, now time.Time
		wantRevoked bool
	}{
		{"logged out", "apptok_gone", "", t0.Add(time.Hour), t0.Add(time.Hour), true},
		{"issued before expire-all", "apptok_a", "", t0.Add(-time.Microsecond), t0, true},
		{"issued at the instant of expire-all", "apptok_a", "", t0, t0, false},
		{"s1 before its delayed expiry takes effect", "apptok_a", "s1", t0.Add(30 * time.Minute), t0.Add(time.Hour), false},
		{"s1 once it takes effect", "apptok_a", "s1", t0.Add(30 * time.Minute), t0.Add(2 * time.Hour), true},
		{"s2 is not concerned by s1's rule", "apptok_a", "s2", t0.Add(30 * time.Minute), t0.Add(3 * time.Hour), false},
	} {
		if got := r.Revokes(tc.id, tc.session, tc.issued, tc.now); got != tc.wantRevoked {
			t.Errorf("%s: revoked = %v, want %v", tc.name, got, tc.wantRevoked)
		}
	}
}
