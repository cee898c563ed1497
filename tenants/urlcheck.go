package tenants

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ValidateEndpointURL checks an endpoint target: an absolute http or https
// URL with a host and no credentials. (Whether the host may be dialled is
// decided at delivery time, on the resolved address.)
func ValidateEndpointURL(raw string) error {
	if raw == "" {
		return Invalid("url", "field required")
	}
	if len(raw) > 65536 {
		return Invalid("url", "URL is too long")
	}
	if !utf8.ValidString(raw) {
		return Invalid("url", "URL must be valid UTF-8")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Invalid("url", "not a valid URL")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return Invalid("url", "URL scheme must be http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return Invalid("url", "URL must have a host")
	}
	if u.User != nil {
		return Invalid("url", "URL must not carry credentials; use a custom header instead")
	}
	return nil
}

// CheckEndpointTarget is ValidateEndpointURL plus, for a process where
// private targets are not allowed, a refusal of every URL whose host names
// a private, loopback, link-local or reserved address literally (in any
// spelling: zoned, IPv4-mapped, NAT64, 6to4, numeric IPv4 forms) or is
// localhost. Names are not resolved here; the worker checks the resolved
// address again when it dials, so a name that resolves or rebinds to a
// private address is refused then.
func CheckEndpointTarget(raw string, allowPrivate bool) error {
	if err := ValidateEndpointURL(raw); err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	u, _ := url.Parse(raw) // parsed above
	return checkTargetHost(u.Hostname())
}

var channelRE = regexp.MustCompile(`^[a-zA-Z0-9\-_.:]{1,128}$`)

// ValidateChannels checks a list of channel names: between 1 and max
// entries (an empty list means none), each 1-128 characters of
// [a-zA-Z0-9-_.:].
func ValidateChannels(field string, ch []string, max int) error {
	if ch == nil {
		return nil
	}
	if len(ch) > max {
		return Invalid(field, fmt.Sprintf("at most %d channels", max))
	}
	for _, c := range ch {
		if !channelRE.MatchString(c) {
			return Invalid(field, "channel names are 1-128 characters of a-z, A-Z, 0-9, '-', '_', '.' and ':'")
		}
	}
	return nil
}
