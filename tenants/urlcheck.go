package tenants

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
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
