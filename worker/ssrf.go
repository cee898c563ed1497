package worker

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/hookline/hookline/tenants"
)

// BlockedAddressError reports a dial refused by the SSRF guard.
type BlockedAddressError struct {
	Addr netip.Addr
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("address %s is private, loopback, link-local or reserved; delivery there is refused (HOOKLINE_ALLOW_PRIVATE_TARGETS)", e.Addr)
}

// IsBlocked reports whether a webhook may not be sent to addr; it is
// tenants.IsBlockedAddr, the one classifier the API (at endpoint create and
// update) and the dialer share. Zones are ignored and embedded IPv4
// addresses (mapped, NAT64, 6to4) judged by what they carry.
func IsBlocked(addr netip.Addr) bool { return tenants.IsBlockedAddr(addr) }

// guardControl is a net.Dialer Control function: it runs after DNS
// resolution, on the very address being connected to, so a name that
// resolves (or rebinds) to a private address is refused too.
func guardControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("ssrf guard: unparseable address %q", address)
	}
	if IsBlocked(ap.Addr()) {
		return &BlockedAddressError{Addr: ap.Addr().WithZone("").Unmap()}
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
