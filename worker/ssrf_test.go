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
		{"93.184.216.34", false}, {"8.8.8.8", false}, {"2606:4700:4700::1111", false}, {"172.32.0.1", false},
		{"64:ff9b::808:808", false},
	} {
		if got := IsBlocked(netip.MustParseAddr(tc.addr)); got != tc.blocked {
			t.Errorf("IsBlocked(%s) = %v, want %v", tc.addr, got, tc.blocked)
		}
	}
}
