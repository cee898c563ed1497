package tenants

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Asymmetric (ed25519) endpoint keys, as Svix OSS and Standard Webhooks
// define them: the signing key is "whsk_" followed by the standard base64
// of the 64-byte ed25519 private key (seed, then public key); receivers
// verify with "whpk_" and the base64 of the 32-byte public key; signatures
// read "v1a," and the base64 of the ed25519 signature.
const (
	AsymmetricSecretPrefix = "whsk_"
	PublicKeyPrefix        = "whpk_"
)

// Signature schemes an operator may make the default for new endpoints
// (HOOKLINE_DEFAULT_SIGNATURE).
const (
	SignatureHMAC    = "hmac"
	SignatureEd25519 = "ed25519"
)

// NewEd25519EndpointSecret returns a fresh asymmetric signing key,
// "whsk_" and the base64 of a new ed25519 private key.
func NewEd25519EndpointSecret() string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic("tenants: crypto/rand failed: " + err.Error())
	}
	return AsymmetricSecretPrefix + base64.StdEncoding.EncodeToString(priv)
}

// NewEndpointSecretFor returns a fresh secret of the scheme (SignatureHMAC
// or SignatureEd25519; anything else is HMAC).
func NewEndpointSecretFor(scheme string) string {
	if scheme == SignatureEd25519 {
		return NewEd25519EndpointSecret()
	}
	return NewEndpointSecret()
}

// IsAsymmetricSecret reports whether secret is an ed25519 "whsk_" key.
func IsAsymmetricSecret(secret string) bool {
	return strings.HasPrefix(secret, AsymmetricSecretPrefix)
}

// Ed25519SecretKey decodes a "whsk_" key. It fails unless the key is 64
// bytes whose second half is the public key of its first (a key pasted
// from elsewhere that does not hold together would sign with signatures no
// receiver can verify).
func Ed25519SecretKey(secret string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, AsymmetricSecretPrefix))
	if err != nil {
		return nil, errors.New("a whsk_ key must be base64 after its prefix")
	}
	if len(b) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("a whsk_ key must decode to %d bytes (ed25519 seed and public key), got %d", ed25519.PrivateKeySize, len(b))
	}
	k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
	if subtle.ConstantTimeCompare(k, b) != 1 {
		return nil, errors.New("a whsk_ key's public half does not match its seed")
	}
	return k, nil
}

// PublicSecret returns what GET …/secret shows of a secret: the public key
// "whpk_…" of an asymmetric key (the private key never reads back), the
// secret itself for HMAC.
func PublicSecret(secret string) (string, error) {
	if !IsAsymmetricSecret(secret) {
		return secret, nil
	}
	k, err := Ed25519SecretKey(secret)
	if err != nil {
		return "", err
	}
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey)), nil
}
