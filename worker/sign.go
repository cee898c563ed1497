package worker

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
	"sync"

	"github.com/hookline/hookline/tenants"
)

// Signer signs webhook bodies per Standard Webhooks with an endpoint's live
// secrets: "v1" (HMAC-SHA256) for "whsec_" secrets and "v1a" (ed25519)
// for "whsk_" keys, as Svix does. It holds the decoded keys; it is
// immutable and safe for concurrent use.
type Signer struct {
	keys []signingKey
}

// signingKey is one decoded secret: an HMAC key, or an ed25519 private
// key when ed is set.
type signingKey struct {
	hmac []byte
	ed   ed25519.PrivateKey
	// macs keeps HMAC states keyed with hmac (*macState): hmac.New
	// allocates two SHA-256 states and both pads on every call, and a
	// reset state restores its keyed start without hashing the key again.
	macs *sync.Pool
}

// macState is one HMAC-SHA256 state of a key, with a scratch buffer for
// the "id.timestamp." prefix and the sum.
type macState struct {
	h   hash.Hash
	buf []byte
}

// NewSigner decodes "whsec_" and "whsk_" secrets, current first. A secret
// that does not decode is an error.
func NewSigner(secrets []string) (*Signer, error) {
	s := &Signer{keys: make([]signingKey, 0, len(secrets))}
	for _, sec := range secrets {
		if tenants.IsAsymmetricSecret(sec) {
			k, err := tenants.Ed25519SecretKey(sec)
			if err != nil {
				return nil, err
			}
			s.keys = append(s.keys, signingKey{ed: k})
			continue
		}
		k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sec, tenants.SecretPrefix))
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, signingKey{hmac: k, macs: &sync.Pool{New: func() any {
			return &macState{h: hmac.New(sha256.New, k), buf: make([]byte, 0, 64)}
		}}})
	}
	return s, nil
}

// Sign returns the webhook-signature value for a message: for each key,
// "v1," and the standard base64 of HMAC-SHA256(key, "id.timestamp.body"),
// or "v1a," and the base64 of the ed25519 signature of the same bytes,
// space-separated, current key first.
func (s *Signer) Sign(msgID string, timestamp int64, body []byte) string {
	var tsBuf [20]byte
	ts := strconv.AppendInt(tsBuf[:0], timestamp, 10)
	size := 0
	for _, k := range s.keys {
		if k.ed != nil {
			size += len("v1a,") + base64.StdEncoding.EncodedLen(ed25519.SignatureSize) + 1
		} else {
			size += len("v1,") + base64.StdEncoding.EncodedLen(sha256.Size) + 1
		}
	}
	var sb strings.Builder
	sb.Grow(size)
	// enc holds one signature's base64: the longer of the two schemes'.
	var enc [(ed25519.SignatureSize + 2) / 3 * 4]byte
	var signed []byte // "id.timestamp.body", built once if a key needs it whole
	for i, k := range s.keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		if k.ed != nil {
			if signed == nil {
				signed = signedContent(msgID, ts, body)
			}
			sig := ed25519.Sign(k.ed, signed)
			base64.StdEncoding.Encode(enc[:], sig)
			sb.WriteString("v1a,")
			sb.Write(enc[:base64.StdEncoding.EncodedLen(len(sig))])
			continue
		}
		m := k.macs.Get().(*macState)
		m.h.Reset()
		m.buf = append(append(append(append(m.buf[:0], msgID...), '.'), ts...), '.')
		m.h.Write(m.buf)
		m.h.Write(body)
		m.buf = m.h.Sum(m.buf[:0])
		base64.StdEncoding.Encode(enc[:], m.buf)
		sb.WriteString("v1,")
		sb.Write(enc[:base64.StdEncoding.EncodedLen(len(m.buf))])
		k.macs.Put(m)
	}
	return sb.String()
}

// signedContent is the byte string both schemes sign: "id.timestamp.body".
// ed25519 signs a message whole (it hashes it twice), so it is built once.
func signedContent(msgID string, ts, body []byte) []byte {
	b := make([]byte, 0, len(msgID)+len(ts)+len(body)+2)
	b = append(b, msgID...)
	b = append(b, '.')
	b = append(b, ts...)
	b = append(b, '.')
	return append(b, body...)
}
