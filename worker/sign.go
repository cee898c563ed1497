package worker

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
)

// Signer signs webhook bodies per Standard Webhooks with an endpoint's live
// secrets. It holds the decoded keys; it is immutable and safe for
// concurrent use.
type Signer struct {
	keys [][]byte
}

// NewSigner decodes "whsec_" secrets, current first.
func NewSigner(secrets []string) (*Signer, error) {
	s := &Signer{keys: make([][]byte, 0, len(secrets))}
	for _, sec := range secrets {
		k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sec, "whsec_"))
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Sign returns the webhook-signature value for a message: for each key,
// "v1," and the standard base64 of HMAC-SHA256(key, "id.timestamp.body"),
// space-separated, current key first.
func (s *Signer) Sign(msgID string, timestamp int64, body []byte) string {
	ts := strconv.FormatInt(timestamp, 10)
	var sb strings.Builder
	sum := make([]byte, 0, sha256.Size)
	for i, k := range s.keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(msgID))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sum = mac.Sum(sum[:0])
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(sum))
	}
	return sb.String()
}
