package tenants

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SecretPrefix starts every endpoint signing secret, as in Svix and
// Standard Webhooks.
const SecretPrefix = "whsec_"

// Secret bounds and defaults, from the Svix contract.
const (
	secretRandomBytes  = 24
	secretMinBytes     = 24
	secretMaxBytes     = 75
	MaxLiveOldSecrets  = 10
	DefaultGracePeriod = 24 * time.Hour
	MaxGracePeriod     = 7 * 24 * time.Hour
)

// NewEndpointSecret returns a fresh signing secret: "whsec_" followed by
// the standard base64 of 24 random bytes.
func NewEndpointSecret() string {
	var b [secretRandomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("tenants: crypto/rand failed: " + err.Error())
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// NormalizeEndpointSecret validates a caller-supplied secret and returns it
// with the "whsec_" prefix. The prefix is optional on input, as the Svix
// SDKs document; the decoded key must be 24 to 75 bytes. A "whsk_" key is
// an ed25519 signing key (secret_ed25519.go), kept as given once valid.
func NormalizeEndpointSecret(s string) (string, error) {
	if IsAsymmetricSecret(s) {
		if _, err := Ed25519SecretKey(s); err != nil {
			return "", err
		}
		return s, nil
	}
	if strings.HasPrefix(s, PublicKeyPrefix) {
		return "", errors.New("a whpk_ key is a public key, which cannot sign; give the whsk_ key")
	}
	body := strings.TrimPrefix(s, SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return "", errors.New("secret must be base64, optionally prefixed with whsec_")
	}
	if len(key) < secretMinBytes || len(key) > secretMaxBytes {
		return "", fmt.Errorf("secret must decode to %d-%d bytes, got %d", secretMinBytes, secretMaxBytes, len(key))
	}
	return SecretPrefix + body, nil
}

// SecretKey returns the HMAC key bytes of a "whsec_" secret.
func SecretKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
}

// Cipher seals endpoint secrets at rest with AES-256-GCM. It is safe for
// concurrent use.
type Cipher struct {
	aead cipher.AEAD
}

// NewCipher returns a Cipher for a 32-byte key, or an error for any other
// length.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("encryption key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("new aes cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("new gcm: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

// Seal encrypts plaintext; the result is nonce || ciphertext || tag. The
// additional data binds a ciphertext to its row (the endpoint id) so a
// sealed secret cannot be copied onto another endpoint.
func (c *Cipher) Seal(plaintext, ad []byte) []byte {
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plaintext)+c.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("tenants: crypto/rand failed: " + err.Error())
	}
	return c.aead.Seal(nonce, nonce, plaintext, ad)
}

// Open decrypts what Seal produced with the same additional data.
func (c *Cipher) Open(sealed, ad []byte) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(sealed) < n+c.aead.Overhead() {
		return nil, errors.New("sealed secret too short")
	}
	out, err := c.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, fmt.Errorf("open sealed secret: %w", err)
	}
	return out, nil
}
