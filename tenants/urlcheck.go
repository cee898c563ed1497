package tenants

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ValidateEndpointURL checks an endpoint target: an absolute http or https
// URL with a host that maps to ASCII under IDNA (UTS #46), a port, if
// any, from 1 to 65535, and no credentials. (Whether the host may be
// dialled is decided at delivery time, on the resolved address.)
func ValidateEndpointURL(raw string) error {
	_, err := parseEndpointURL(raw)
	return err
}

// TargetHost returns the host an HTTP client dials for the endpoint URL
// raw: its hostname (percent-decoded, without brackets or port) mapped
// to ASCII with IDNA's lookup profile (UTS #46: full-width digits and
// dots, circled letters and ideographic full stops become their ASCII
// forms) when it is not ASCII already, exactly as net/http maps it
// before resolving. It returns a validation error on the url field for
// anything ValidateEndpointURL refuses.
func TargetHost(raw string) (string, error) {
	return parseEndpointURL(raw)
}

// parseEndpointURL is ValidateEndpointURL, returning the dialled host.
func parseEndpointURL(raw string) (string, error) {
	if raw == "" {
		return "", Invalid("url", "field required")
	}
	if len(raw) > 65536 {
		return "", Invalid("url", "URL is too long")
	}
	if !utf8.ValidString(raw) {
		return "", Invalid("url", "URL must be valid UTF-8")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", Invalid("url", "not a valid URL")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return "", Invalid("url", "URL scheme must be http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", Invalid("url", "URL must have a host")
	}
	if u.User != nil {
		return "", Invalid("url", "URL must not carry credentials; use a custom header instead")
	}
	// url.Parse lets through an empty port ("h:") and any run of digits.
	if p := u.Port(); strings.HasSuffix(u.Host, ":") || p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", Invalid("url", "the URL's port must be a number from 1 to 65535")
		}
	}
	host := u.Hostname()
	if !isASCII(host) {
		// net/http maps a non-ASCII host this way before dialling; a host
		// it cannot map can never be delivered to.
		if host, err = idna.Lookup.ToASCII(host); err != nil || host == "" {
			return "", Invalid("url", "the URL's host is not a valid international domain name")
		}
	}
	return host, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// CheckEndpointTarget is ValidateEndpointURL plus, for a process where
// private targets are not allowed, a refusal of every URL whose host names
// a private, loopback, link-local or reserved address literally (in any
// spelling: zoned, IPv4-mapped, NAT64, 6to4, numeric IPv4 forms, and the
// Unicode spellings IDNA maps to one of these, such as full-width digits
// or ideographic full stops) or is localhost. The host is judged as
// TargetHost maps it, which is how net/http sees it when it dials. Names
// are not resolved here; the worker checks the resolved address again
// when it dials, with the same IsBlockedAddr, so a name that resolves or
// rebinds to a private address is refused then.
func CheckEndpointTarget(raw string, allowPrivate bool) error {
	host, err := parseEndpointURL(raw)
	if err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	return checkTargetHost(host)
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
