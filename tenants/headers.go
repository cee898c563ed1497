package tenants

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// sensitiveHeaders are stored and sent but never shown back: GET of an
// endpoint's headers lists only their names.
var sensitiveHeaders = map[string]bool{
	"authorization": true, "x-api-key": true, "x-auth-token": true,
	"www-authenticate": true, "proxy-authenticate": true, "proxy-authorization": true,
}

// forbiddenHeaders are set by the delivery itself (or by HTTP) and may not
// be overridden by an endpoint.
var forbiddenHeaders = map[string]bool{
	"user-agent": true, "host": true, "connection": true, "keep-alive": true, "transfer-encoding": true,
	"te": true, "trailer": true, "upgrade": true, "content-length": true, "content-type": true,
	"content-encoding": true, "expect": true, "traceparent": true, "tracestate": true,
}

var forbiddenHeaderPrefixes = []string{"svix-", "x-svix-", "webhook-", "x-amz-", "x-hookline-", "content-", "proxy-"}

// IsSensitiveHeader reports whether a header's value is hidden on read
// (and sealed at rest).
func IsSensitiveHeader(name string) bool { return sensitiveHeaders[strings.ToLower(name)] }

// SensitiveHeaderNames lists the sensitive headers' names, in lower case.
func SensitiveHeaderNames() []string {
	out := make([]string, 0, len(sensitiveHeaders))
	for k := range sensitiveHeaders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Limits on an endpoint's custom headers: every attempt sends them and
// stores them with its request headers, so they are bounded like a body.
const (
	MaxCustomHeaders     = 100
	MaxCustomHeaderBytes = 16 << 10 // names and values together
)

// ValidateHeaders checks custom endpoint headers: at most MaxCustomHeaders
// of at most MaxCustomHeaderBytes together, valid names and values, none
// that the delivery sets itself. The error names the first bad header.
func ValidateHeaders(h map[string]string) error {
	if len(h) > MaxCustomHeaders {
		return InvalidAt([]string{"body", "headers"}, fmt.Sprintf("at most %d custom headers", MaxCustomHeaders))
	}
	size := 0
	for k, v := range h {
		size += len(k) + len(v)
	}
	if size > MaxCustomHeaderBytes {
		return InvalidAt([]string{"body", "headers"}, fmt.Sprintf("custom headers must total at most %d bytes (names and values)", MaxCustomHeaderBytes))
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lk := strings.ToLower(k)
		if !httpguts.ValidHeaderFieldName(k) {
			return InvalidAt([]string{"body", "headers", k}, "invalid header name")
		}
		if !httpguts.ValidHeaderFieldValue(h[k]) {
			return InvalidAt([]string{"body", "headers", k}, "invalid header value")
		}
		if forbiddenHeaders[lk] {
			return InvalidAt([]string{"body", "headers", k}, fmt.Sprintf("header %q is set by the delivery and cannot be overridden", k))
		}
		for _, p := range forbiddenHeaderPrefixes {
			if strings.HasPrefix(lk, p) && !sensitiveHeaders[lk] {
				return InvalidAt([]string{"body", "headers", k}, fmt.Sprintf("headers starting with %q are reserved", p))
			}
		}
	}
	return nil
}

// CanonicalHeaders returns h with canonical header names.
func CanonicalHeaders(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[http.CanonicalHeaderKey(k)] = v
	}
	return out
}
