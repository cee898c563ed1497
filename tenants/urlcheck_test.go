package tenants

import (
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestCheckEndpointTarget: with private targets not allowed, every literal
// spelling of a loopback, private, link-local or special address is a 422
// on the url field, and so is localhost; public literals and names pass.
// With private targets allowed, all of them pass.
func TestCheckEndpointTarget(t *testing.T) {
	refused := []string{
		"http://127.0.0.1:8080/h", "http://127.9.9.9/", "https://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
		"http://[::1]:8080/", "http://[::1%25lo]:8080/", "http://[fe80::1%25eth0]/", "http://[fd00::1%25eth0]/",
		"http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::127.0.0.1]/", "http://[::7f00:1]/",
		"http://[64:ff9b::127.0.0.1]/", "http://[64:ff9b:1::808:808]/", "http://[2002:7f00:1::]/",
		"http://[::ffff:0:127.0.0.1]/", "http://[fe80::1]/", "http://[fc00::1]/", "http://[::]/", "http://0.0.0.0/",
		"http://localhost:8080/", "http://LOCALHOST/", "http://localhost./", "http://api.localhost/", "http://127.0.0.1./",
		// Numeric spellings some resolvers read as 127.0.0.1 (and one public).
		"http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://0x7f.0.0.1/", "http://0177.0.0.1/", "http://017700000001/",
		"http://127.000.000.001/", "http://0x08080808/",
		"http://[2606:4700:4700::1111%25eth0]/", // a zone on a public address means nothing good
	}
	for _, raw := range refused {
		if _, err := url.Parse(raw); err != nil {
			t.Errorf("%s: Go's URL parser refuses it (%v); drop it from the table", raw, err)
			continue
		}
		err := CheckEndpointTarget(raw, false)
		var ve *Error
		if !errors.As(err, &ve) || ve.Code != CodeInvalid || !slices.Equal(ve.Loc, []string{"body", "url"}) {
			t.Errorf("CheckEndpointTarget(%s) = %v, want a validation error on body.url", raw, err)
			continue
		}
		if err := CheckEndpointTarget(raw, true); err != nil {
			t.Errorf("CheckEndpointTarget(%s, allowPrivate) = %v, want nil", raw, err)
		}
	}
	for _, raw := range []string{"https://8.8.8.8/h", "https://[2606:4700:4700::1111]/", "https://hooks.customer.test/x", "http://[::ffff:8.8.8.8]/", "https://1.2.3.4.5/", "https://0day.test/"} {
		if err := CheckEndpointTarget(raw, false); err != nil {
			t.Errorf("CheckEndpointTarget(%s) = %v, want nil", raw, err)
		}
	}
	if err := CheckEndpointTarget("http://a\xffb.test/", true); err == nil {
		t.Error("a URL with invalid UTF-8 passed")
	}
}

func TestParseLegacyIPv4(t *testing.T) {
	for in, want := range map[string]string{
		"127.1": "127.0.0.1", "2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1", "0x7f.0.0.1": "127.0.0.1",
		"0177.0.0.1": "127.0.0.1", "10.1.65535": "10.1.255.255", "0": "0.0.0.0", "0x": "0.0.0.0", "8.8.8.8": "8.8.8.8",
	} {
		got, ok := ParseLegacyIPv4(in)
		if !ok || got != netip.MustParseAddr(want) {
			t.Errorf("ParseLegacyIPv4(%q) = %v, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "a.b", "256.1.1.1", "1.2.3.4.5", "4294967296", "1.16777216", "08", "1..2", "+1", "0x-1", "example"} {
		if got, ok := ParseLegacyIPv4(in); ok {
			t.Errorf("ParseLegacyIPv4(%q) = %v, want not an address", in, got)
		}
	}
}

// FuzzCheckEndpointTarget: never panics; anything accepted without private
// targets is accepted with them; an accepted URL's host is no blocked
// literal and no localhost.
func FuzzCheckEndpointTarget(f *testing.F) {
	for _, s := range []string{"https://hooks.test/x", "http://[::1%25lo]:80/", "http://127.1/", "http://0x7f000001/", "ftp://x/", "http://user:pw@h/", "http://[2002:7f00:1::]/", "http://localhost./", "https://8.8.8.8/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckEndpointTarget(raw, false)
		if err == nil {
			if err := CheckEndpointTarget(raw, true); err != nil {
				t.Fatalf("accepted without private targets, refused with them: %v", err)
			}
			u, _ := url.Parse(raw)
			h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
			if a, perr := netip.ParseAddr(h); perr == nil && IsBlockedAddr(a) {
				t.Fatalf("accepted blocked literal %s", raw)
			}
			if a, ok := ParseLegacyIPv4(h); ok && IsBlockedAddr(a) {
				t.Fatalf("accepted numeric loopback/private form %s", raw)
			}
			if h == "localhost" {
				t.Fatalf("accepted localhost: %s", raw)
			}
			return
		}
		var ve *Error
		if !errors.As(err, &ve) || ve.Code != CodeInvalid {
			t.Fatalf("error is not an invalid-value error: %v", err)
		}
	})
}

// FuzzParseLegacyIPv4: a dotted-decimal address reads as itself.
func FuzzParseLegacyIPv4(f *testing.F) {
	for _, s := range []string{"127.1", "0x7f.1", "017700000001", "1.2.3.4", "255.255.255.255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseLegacyIPv4(s)
		if p, err := netip.ParseAddr(s); err == nil && p.Is4() && (!ok || a != p) {
			t.Fatalf("ParseLegacyIPv4(%q) = %v, %v; want %v", s, a, ok, p)
		}
	})
}
