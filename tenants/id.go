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
	var buf [64]byte // one allocation: the string
	return string(appendID(append(buf[:0], prefix...), now, b))
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
	var buf [64]byte
	return string(appendID(append(buf[:0], prefix...), t, b))
}

// appendID appends the id body of instant t and random bytes b[5:].
func appendID(dst []byte, t time.Time, b [idBytes]byte) []byte {
	secs := t.Unix() - ksuidEpoch
	if secs < 0 {
		secs = 0
	}
	binary.BigEndian.PutUint32(b[0:4], uint32(secs))
	b[4] = byte((t.Nanosecond() / 1e6 % 1000) / 4)
	return appendBase62(dst, b)
}

// encodeBase62 returns the 160-bit big-endian number in b as 27 base62
// digits.
func encodeBase62(b [idBytes]byte) string { return string(appendBase62(nil, b)) }

// base62Pow5 is 62⁵, the most base62 digits a 32-bit word holds.
const base62Pow5 = 62 * 62 * 62 * 62 * 62

// appendBase62 appends the 160-bit big-endian number in b as 27 base62
// digits. Five 32-bit words are divided by 62⁵ (schoolbook long division)
// and each remainder gives five digits: a sixth of the long divisions of
// dividing by 62 digit by digit (every message and attempt gets an id).
func appendBase62(dst []byte, b [idBytes]byte) []byte {
	var parts [5]uint32
	for i := range parts {
		parts[i] = binary.BigEndian.Uint32(b[i*4:])
	}
	var out [idEncoded]byte
	for i := idEncoded - 1; i >= 0; {
		var rem uint64
		for j := range parts {
			v := rem<<32 | uint64(parts[j])
			parts[j] = uint32(v / base62Pow5)
			rem = v % base62Pow5
		}
		r := uint32(rem)
		for k := 0; k < 5 && i >= 0; k++ {
			out[i] = base62[r%62]
			r /= 62
			i--
		}
	}
	return append(dst, out[:]...)
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
