package worker

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

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
		s.keys = append(s.keys, signingKey{hmac: k})
	}
	return s, nil
}

// Sign returns the webhook-signature value for a message: for each key,
// "v1," and the standard base64 of HMAC-SHA256(key, "id.timestamp.body"),
// or "v1a," and the base64 of the ed25519 signature of the same bytes,
// space-separated, current key first.
func (s *Signer) Sign(msgID string, timestamp int64, body []byte) string {
	ts := strconv.FormatInt(timestamp, 10)
	var sb strings.Builder
	sum := make([]byte, 0, sha256.Size)
	var signed []byte // "id.timestamp.body", built once if a key needs it whole
	for i, k := range s.keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		if k.ed != nil {
			if signed == nil {
				signed = signedContent(msgID, ts, body)
			}
			sb.WriteString("v1a,")
			sb.WriteString(base64.StdEncoding.EncodeToString(ed25519.Sign(k.ed, signed)))
			continue
		}
		mac := hmac.New(sha256.New, k.hmac)
		mac.Write([]byte(msgID))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sum = mac.Sum(sum[:0])
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(sum))
	}
	return sb.String()
}

// signedContent is the byte string both schemes sign: "id.timestamp.body".
// ed25519 signs a message whole (it hashes it twice), so it is built once.
func signedContent(msgID, ts string, body []byte) []byte {
	b := make([]byte, 0, len(msgID)+len(ts)+len(body)+2)
	b = append(b, msgID...)
	b = append(b, '.')
	b = append(b, ts...)
	b = append(b, '.')
	return append(b, body...)
}
