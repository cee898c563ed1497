package tenants

import (
	"strings"
	"testing"
)

// Svix's own vector (svix-server's asymmetric key tests and docs).
const (
	svixSK = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
	svixPK = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
)

func TestPublicSecret(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"SvixVector", svixSK, svixPK},
		{"HMACReadsBack", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PublicSecret(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("PublicSecret = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestNormalizeEndpointSecret_Ed25519(t *testing.T) {
	if got, err := NormalizeEndpointSecret(svixSK); err != nil || got != svixSK {
		t.Fatalf("valid whsk_: %q, %v", got, err)
	}
	// The bad keys of Svix's deserialization test, and a key whose public
	// half was tampered with (Svix's validate test).
	for _, bad := range []string{
		svixPK,
		"whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kv",
		"whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlaaaaaaaaaaAJ6p9lMicMFs6Kvg==",
		"whsk_" + strings.Repeat("A", 44),
	} {
		if _, err := NormalizeEndpointSecret(bad); err == nil {
			t.Errorf("NormalizeEndpointSecret(%q) accepted", bad)
		}
	}
}

func TestNewEndpointSecretFor(t *testing.T) {
	sk := NewEndpointSecretFor(SignatureEd25519)
	if _, err := Ed25519SecretKey(sk); err != nil {
		t.Fatalf("generated %q: %v", sk, err)
	}
	if pk, _ := PublicSecret(sk); !strings.HasPrefix(pk, PublicKeyPrefix) || len(pk) != len(svixPK) {
		t.Errorf("public key %q", pk)
	}
	if s := NewEndpointSecretFor(SignatureHMAC); !strings.HasPrefix(s, SecretPrefix) {
		t.Errorf("hmac secret %q", s)
	}
}
