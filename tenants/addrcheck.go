package tenants

import (
	"net/netip"
	"strconv"
	"strings"
)

// blockedPrefixes are the networks a webhook may never reach unless private
// targets are allowed: loopback, private, link-local (where cloud metadata
// lives), CGNAT, multicast, documentation, benchmarking, the unspecified and
// reserved ranges, and the IPv6 transition ranges that exist only to carry
// an IPv4 address (IPv4-compatible ::/96, IPv4-translated ::ffff:0:0:0/96,
// local-use NAT64 64:ff9b:1::/48, the IETF protocol block 2001::/23 with
// Teredo in it).
var blockedPrefixes = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
	"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
	"::/96", "::1/128", "::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
	"5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
)

// nat64 (RFC 6052) and sixToFour (RFC 3056) embed an IPv4 address: the
// address is as private as the IPv4 address inside it.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// IsBlockedAddr reports whether a webhook may not be sent to addr when
// private targets are not allowed. An IPv6 zone is ignored (it names an
// interface, not a network: fe80::1%eth0 is link-local, ::1%lo loopback);
// IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4 address they
// carry. The invalid zero Addr is blocked.
func IsBlockedAddr(addr netip.Addr) bool {
	if !addr.IsValid() {
		return true
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64.Contains(addr):
			addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case sixToFour.Contains(addr):
			addr = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// checkTargetHost refuses, when private targets are not allowed, a URL
// host that names this machine or a private network without any DNS
// lookup: IP literals in a blocked range (zoned IPv6 literals always),
// "localhost" and names under it (RFC 6761), and the numeric IPv4 spellings
// other than dotted decimal ("127.1", "2130706433", "0x7f.0.0.1",
// "0177.0.0.1"), which some resolvers read as addresses. Names are
// otherwise judged at dial time, on the address they resolve to.
func checkTargetHost(host string) error {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return Invalid("url", "the URL names this machine (localhost); delivery to private, loopback and link-local targets is refused (HOOKLINE_ALLOW_PRIVATE_TARGETS)")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return Invalid("url", "IPv6 zone identifiers are not allowed in endpoint URLs")
		}
		if IsBlockedAddr(a) {
			return Invalid("url", "the URL's address "+a.String()+" is private, loopback, link-local or reserved; delivery there is refused (HOOKLINE_ALLOW_PRIVATE_TARGETS)")
		}
		return nil
	}
	if _, ok := ParseLegacyIPv4(h); ok {
		return Invalid("url", "write IPv4 addresses in dotted decimal (a.b.c.d); other numeric forms are refused")
	}
	return nil
}

// ParseLegacyIPv4 reads the numeric host forms inet_aton accepts: one to
// four parts separated by dots, each decimal, octal (leading 0) or hex
// (leading 0x), the last part filling the remaining bytes, so "127.1",
// "2130706433", "0x7f000001" and "0177.0.0.1" are all 127.0.0.1. ok is
// false for anything else (a name, or a part out of range).
func ParseLegacyIPv4(s string) (netip.Addr, bool) {
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
			if p == "" { // "0x" alone is 0 to inet_aton
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" || strings.ContainsAny(p, "+-_") {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var n uint64
	last := len(vals) - 1
	for i, v := range vals[:last] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*uint(i))
	}
	if vals[last] >= 1<<(32-8*uint(last)) {
		return netip.Addr{}, false
	}
	n |= vals[last]
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
