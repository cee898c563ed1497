package tenants

import (
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/idna"
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
		// Unicode spellings IDNA (UTS #46) maps to a loopback or link-local
		// address or to localhost, as net/http does before it dials.
		"http://127。0。0。1/", "http://１２７.０.０.１/", "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "http://①②⑦.⓪.⓪.①:19001/",
		"http://169。254。169。254/latest/meta-data/", "http://127%E3%80%820%E3%80%820%E3%80%821/",
		"http://ＬＯＣＡＬＨＯＳＴ./", "http://api.ｌｏｃａｌｈｏｓｔ/", "http://１２７．１/", "http://0ｘ7f000001/",
		"http://１０.０.０.１:8080/", "http://169．254．169．254/",
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

// TestValidateEndpointURL_PortsAndIDNA: a port outside 1-65535, an empty
// port, and a non-ASCII host IDNA cannot map are a 422 on the url field
// whether or not private targets are allowed; ports in range and
// international names that map pass.
func TestValidateEndpointURL_PortsAndIDNA(t *testing.T) {
	for _, raw := range []string{
		"http://h.test:0/", "http://h.test:65536/", "http://h.test:99999999999999999999/", "http://h.test:/",
		"http://[2606:4700::1]:/", "http://[2606:4700::1]:0/", "https://8.8.8.8:70000/",
		"http://a\u00a0b.test/", "http://\u200d/", "http://x\u0085y.test/",
	} {
		for _, allow := range []bool{false, true} {
			err := CheckEndpointTarget(raw, allow)
			var ve *Error
			if !errors.As(err, &ve) || ve.Code != CodeInvalid || !slices.Equal(ve.Loc, []string{"body", "url"}) {
				t.Errorf("CheckEndpointTarget(%q, %v) = %v, want a validation error on body.url", raw, allow, err)
			}
		}
	}
	for raw, host := range map[string]string{
		"http://h.test:1/": "h.test", "https://h.test:65535/x": "h.test", "https://bücher.test/": "xn--bcher-kva.test",
		"https://ＥＸＡＭＰＬＥ。test/": "example.test", "http://[2606:4700::1]:443/": "2606:4700::1", "https://a_b.test/": "a_b.test",
	} {
		got, err := TargetHost(raw)
		if err != nil || got != host {
			t.Errorf("TargetHost(%s) = %q, %v; want %q", raw, got, err, host)
		}
		if err := CheckEndpointTarget(raw, false); err != nil {
			t.Errorf("CheckEndpointTarget(%s) = %v, want nil", raw, err)
		}
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
// targets is accepted with them; an accepted URL's host, as net/http maps
// it (IDNA) before dialling, is no blocked literal and no localhost, and
// its port is in range.
func FuzzCheckEndpointTarget(f *testing.F) {
	for _, s := range []string{"https://hooks.test/x", "http://[::1%25lo]:80/", "http://127.1/", "http://0x7f000001/", "ftp://x/", "http://user:pw@h/", "http://[2002:7f00:1::]/", "http://localhost./", "https://8.8.8.8/",
		"http://127。0。0。1/", "http://１２７.０.０.１/", "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", "http://①②⑦.⓪.⓪.①:19001/", "http://169．254．169．254/", "http://127%E3%80%820%E3%80%820%E3%80%821/",
		"http://ｌｏｃａｌｈｏｓｔ:８０/", "http://h.test:0/", "http://h.test:65536/", "http://h.test:/", "https://bücher.test/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckEndpointTarget(raw, false)
		if err == nil {
			if err := CheckEndpointTarget(raw, true); err != nil {
				t.Fatalf("accepted without private targets, refused with them: %v", err)
			}
			u, _ := url.Parse(raw)
			if p := u.Port(); p != "" {
				if n, perr := strconv.Atoi(p); perr != nil || n < 1 || n > 65535 {
					t.Fatalf("accepted port %q: %s", p, raw)
				}
			}
			h := u.Hostname()
			if mapped, merr := idna.Lookup.ToASCII(h); merr == nil {
				h = mapped // what net/http dials (it maps only non-ASCII hosts; ASCII ones map to themselves up to case)
			}
			h = strings.TrimSuffix(strings.ToLower(h), ".")
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
