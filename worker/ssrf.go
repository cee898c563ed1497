package worker

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// blockedPrefixes are the networks a webhook may never reach unless private
// targets are allowed: loopback, private, link-local (where cloud metadata
// lives), CGNAT, multicast, and the unspecified and reserved ranges.
var blockedPrefixes = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
	"224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
	"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32", "fec0::/10",
)

// nat64 embeds an IPv4 address in its last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// BlockedAddressError reports a dial refused by the SSRF guard.
type BlockedAddressError struct {
	Addr netip.Addr
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("address %s is private, loopback, link-local or reserved; delivery there is refused (HOOKLINE_ALLOW_PRIVATE_TARGETS)", e.Addr)
}

// IsBlocked reports whether a webhook may not be sent to addr.
func IsBlocked(addr netip.Addr) bool {
	addr = addr.Unmap()
	if nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// guardControl is a net.Dialer Control function: it runs after DNS
// resolution, on the very address being connected to, so a name that
// resolves (or rebinds) to a private address is refused too.
func guardControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("ssrf guard: unparseable address %q", address)
	}
	if IsBlocked(ap.Addr()) {
		return &BlockedAddressError{Addr: ap.Addr().Unmap()}
	}
	return nil
}

// newDialer returns the dialer for webhook requests.
func newDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 10e9, KeepAlive: 30e9}
	if !allowPrivate {
		d.Control = guardControl
	}
	return d
}
