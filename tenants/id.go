package tenants

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// ID prefixes, as the Svix API spells them.
const (
	PrefixTenant      = "org_"
	PrefixApplication = "app_"
	PrefixEndpoint    = "ep_"
	PrefixMessage     = "msg_"
	PrefixAttempt     = "atmpt_"
	PrefixTask        = "qtask_"
	PrefixAPIKey      = "key_"
)

// ksuidEpoch is the KSUID epoch (2014-05-13T16:53:20Z) in Unix seconds.
const ksuidEpoch = 1_400_000_000

const (
	idBytes   = 20
	idEncoded = 27
	base62    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// NewID returns prefix followed by a 27-character base62 KSUID with a
// millisecond byte (Svix's "KSUID-ms"): 4 bytes of big-endian seconds since
// the KSUID epoch, one byte of (ms%1000)/4 and 15 random bytes. IDs sort
// lexicographically in time order, so they serve as sort keys and cursors.
// NewID is safe for concurrent use; it panics only if the system's random
// source fails, which Go treats as fatal anyway.
func NewID(prefix string, now time.Time) string {
	var b [idBytes]byte
	if _, err := rand.Read(b[5:]); err != nil {
		panic("tenants: crypto/rand failed: " + err.Error())
	}
	return prefix + encodeID(now, b)
}

// IDBound returns the smallest (or, with upper, the largest) id with prefix
// for instant t, so that "created before t" becomes "id < IDBound(t)".
func IDBound(prefix string, t time.Time, upper bool) string {
	var b [idBytes]byte
	if upper {
		for i := 5; i < idBytes; i++ {
			b[i] = 0xff
		}
	}
	return prefix + encodeID(t, b)
}

func encodeID(t time.Time, b [idBytes]byte) string {
	secs := t.Unix() - ksuidEpoch
	if secs < 0 {
		secs = 0
	}
	binary.BigEndian.PutUint32(b[0:4], uint32(secs))
	b[4] = byte((t.Nanosecond() / 1e6 % 1000) / 4)
	return encodeBase62(b)
}

// encodeBase62 writes the 160-bit big-endian number in b as 27 base62 digits.
func encodeBase62(b [idBytes]byte) string {
	// Five 32-bit words, divided by 62 repeatedly (schoolbook long division).
	var parts [5]uint32
	for i := range parts {
		parts[i] = binary.BigEndian.Uint32(b[i*4:])
	}
	var out [idEncoded]byte
	for i := idEncoded - 1; i >= 0; i-- {
		var rem uint64
		for j := range parts {
			v := rem<<32 | uint64(parts[j])
			parts[j] = uint32(v / 62)
			rem = v % 62
		}
		out[i] = base62[rem]
	}
	return string(out[:])
}

// ErrBadID reports an id whose body is not a valid KSUID.
var ErrBadID = errors.New("malformed id")

// IDTime returns the creation instant encoded in an id with the given
// prefix, to millisecond/4 precision. It returns ErrBadID when id does not
// carry the prefix or its body is not 27 base62 characters.
func IDTime(prefix, id string) (time.Time, error) {
	body, ok := strings.CutPrefix(id, prefix)
	if !ok || len(body) != idEncoded {
		return time.Time{}, ErrBadID
	}
	var parts [5]uint32
	for i := 0; i < len(body); i++ {
		d := strings.IndexByte(base62, body[i])
		if d < 0 {
			return time.Time{}, ErrBadID
		}
		carry := uint64(d)
		for j := len(parts) - 1; j >= 0; j-- {
			v := uint64(parts[j])*62 + carry
			parts[j] = uint32(v)
			carry = v >> 32
		}
		if carry != 0 {
			return time.Time{}, ErrBadID
		}
	}
	secs := int64(parts[0]) + ksuidEpoch
	ms := int64(parts[1]>>24) * 4
	return time.Unix(secs, ms*int64(time.Millisecond)).UTC(), nil
}

// IsID reports whether s looks like an id with the given prefix, which is how
// a path segment is told apart from a uid (uids may not start with the
// prefix).
func IsID(prefix, s string) bool {
	_, err := IDTime(prefix, s)
	return err == nil
}
