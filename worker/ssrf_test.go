package worker

import (
	"net/netip"
	"testing"
)

func TestIsBlocked(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"10.0.0.1", true}, {"172.16.5.5", true}, {"192.168.1.1", true}, {"fd00:ec2::254", true},
		{"169.254.169.254", true}, {"fe80::1", true}, {"100.64.0.1", true},
		{"224.0.0.1", true}, {"ff02::1", true}, {"0.0.0.0", true}, {"::", true}, {"255.255.255.255", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.1.2.3", true}, {"64:ff9b::a00:1", true}, // mapped and NAT64 forms
		// Zoned: a zone names an interface, not a network.
		{"::1%lo", true}, {"fe80::1%eth0", true}, {"fd00::1%eth0", true}, {"::ffff:127.0.0.1%lo", true},
		{"2606:4700:4700::1111%eth0", false},
		// IPv4-compatible ::a.b.c.d (deprecated, ::/96), whatever it carries.
		{"::127.0.0.1", true}, {"::10.0.0.1", true}, {"::8.8.8.8", true},
		// 6to4 2002::/16 carries an IPv4 address in bits 16-48.
		{"2002:7f00:1::", true}, {"2002:a00:1::1", true}, {"2002:a9fe:a9fe::", true}, {"2002:808:808::1", false},
		// NAT64 local-use 64:ff9b:1::/48 and IPv4-translated ::ffff:0:0:0/96.
		{"64:ff9b:1::808:808", true}, {"::ffff:0:127.0.0.1", true}, {"::ffff:0:808:808", true},
		// Teredo and the rest of the IETF protocol block, discard-only, documentation.
		{"2001::1", true}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", true}, {"100::1", true}, {"2001:db8::1", true},
		{"fec0::1", true}, {"192.0.2.1", true}, {"198.18.0.1", true}, {"240.0.0.1", true}, {"192.88.99.1", true},
		{"93.184.216.34", false}, {"8.8.8.8", false}, {"2606:4700:4700::1111", false}, {"172.32.0.1", false},
		{"64:ff9b::808:808", false}, {"::ffff:8.8.8.8", false},
	} {
		if got := IsBlocked(netip.MustParseAddr(tc.addr)); got != tc.blocked {
			t.Errorf("IsBlocked(%s) = %v, want %v", tc.addr, got, tc.blocked)
		}
	}
	if !IsBlocked(netip.Addr{}) {
		t.Error("the invalid zero Addr is not blocked")
	}
}

// TestGuardControl: the dial-time check refuses every loopback form the
// resolver can hand it, zones included.
func TestGuardControl(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:80", "[::1]:80", "[::1%lo]:80", "[fe80::1%eth0]:443", "[::ffff:127.0.0.1]:80", "[::127.0.0.1]:80", "[2002:7f00:1::]:80", "0.0.0.0:80", "[::]:80"} {
		if err := guardControl("tcp", addr, nil); err == nil {
			t.Errorf("guardControl(%s) = nil, want refused", addr)
		}
	}
	if err := guardControl("tcp", "8.8.8.8:443", nil); err != nil {
		t.Errorf("guardControl(8.8.8.8:443) = %v, want nil", err)
	}
	if err := guardControl("tcp", "not-an-address", nil); err == nil {
		t.Error("an unparseable address passed")
	}
}

// FuzzIsBlocked: the classifier never panics, ignores zones, and judges an
// IPv4 address and its mapped form alike.
func FuzzIsBlocked(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::1%lo", "fe80::1%eth0", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::", "::127.0.0.1", "8.8.8.8", "2606:4700::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		got := IsBlocked(a)
		if got != IsBlocked(a.WithZone("")) {
			t.Errorf("IsBlocked(%s) depends on the zone", a)
		}
		if a.Is4() && got != IsBlocked(netip.AddrFrom16(a.As16())) {
			t.Errorf("IsBlocked(%s) differs from its IPv4-mapped form", a)
		}
		if a.Unmap().Is4() && a.Unmap().IsLoopback() && !got {
			t.Errorf("loopback %s not blocked", a)
		}
		if (a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified()) && !got {
			t.Errorf("%s is special (stdlib) but not blocked", a)
		}
	})
}
