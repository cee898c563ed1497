package tenants

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Endpoint security beyond the signature (issue 23): a client certificate
// Hookline presents to the endpoint (mTLS), a CA the endpoint's own
// certificate is verified against instead of the system pool, and OAuth2
// credentials whose access token each request carries. Svix's routes:
// …/endpoint/{id}/mtls, …/ca and …/oauth.

// CertExpiryWarning is how long before a client identity or a server CA
// expires that the endpoint.certificate_expiring operational webhook is
// sent.
const CertExpiryWarning = 14 * 24 * time.Hour

// maxPEMBytes bounds an identity or CA bundle: a chain of a few
// certificates and a key is a few KB.
const maxPEMBytes = 64 << 10

// EndpointSecurity is what an endpoint's requests need beyond its URL,
// headers and secrets. Its zero value means none: the system CA pool, no
// client certificate, no token.
type EndpointSecurity struct {
	// ClientIdentity is the PEM private key and certificate chain Hookline
	// presents (nil: none).
	ClientIdentity []byte
	// ServerCA is the PEM certificate(s) the endpoint's certificate must
	// chain to (nil: the system pool).
	ServerCA []byte
	// OAuth, when set, makes every request carry a bearer token from its
	// token URL.
	OAuth *OAuthConfig
}

// IsZero reports whether s asks for nothing beyond a plain request.
func (s EndpointSecurity) IsZero() bool {
	return s.ClientIdentity == nil && s.ServerCA == nil && s.OAuth == nil
}

// CertInfo describes a stored certificate without its key: what GET
// …/mtls and …/ca show and the expiry check reads.
type CertInfo struct {
	Subject  string
	Issuer   string
	NotAfter time.Time
	// SHA256 is the hex fingerprint of the (leaf) certificate.
	SHA256 string
}

// ClientIdentity is a parsed mTLS identity: the PEM as given (stored
// sealed) and its leaf certificate's description.
type ClientIdentity struct {
	PEM  []byte
	Info CertInfo
}

// ParseClientIdentity checks an mTLS identity: PEM holding one private key
// and its certificate (chain), the key matching the leaf, the leaf valid
// at now. Any failure is an Invalid error on field "identity".
func ParseClientIdentity(identity string, now time.Time) (ClientIdentity, error) {
	if len(identity) > maxPEMBytes {
		return ClientIdentity{}, Invalid("identity", fmt.Sprintf("identity is larger than %d bytes", maxPEMBytes))
	}
	b := []byte(identity)
	pair, err := tls.X509KeyPair(b, b)
	if err != nil {
		return ClientIdentity{}, Invalid("identity", "identity must be a PEM private key and its PEM certificate: "+err.Error())
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return ClientIdentity{}, Invalid("identity", "certificate: "+err.Error())
	}
	if err := checkValidity("identity", leaf, now); err != nil {
		return ClientIdentity{}, err
	}
	return ClientIdentity{PEM: b, Info: certInfo(leaf)}, nil
}

// ParseServerCA checks a server CA bundle: one or more PEM certificates,
// each valid at now. It returns the description of the one that expires
// first. Any failure is an Invalid error on field "cert".
func ParseServerCA(bundle string, now time.Time) (CertInfo, error) {
	if len(bundle) > maxPEMBytes {
		return CertInfo{}, Invalid("cert", fmt.Sprintf("cert is larger than %d bytes", maxPEMBytes))
	}
	rest := []byte(bundle)
	var first *x509.Certificate
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return CertInfo{}, Invalid("cert", "cert must hold PEM certificates only, found "+block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return CertInfo{}, Invalid("cert", "certificate: "+err.Error())
		}
		if err := checkValidity("cert", c, now); err != nil {
			return CertInfo{}, err
		}
		if first == nil || c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	if first == nil {
		return CertInfo{}, Invalid("cert", "cert must be one or more PEM certificates")
	}
	return certInfo(first), nil
}

func checkValidity(field string, c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return Invalid(field, fmt.Sprintf("certificate %q expired on %s", c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339)))
	case now.Before(c.NotBefore):
		return Invalid(field, fmt.Sprintf("certificate %q is not valid before %s", c.Subject.String(), c.NotBefore.UTC().Format(time.RFC3339)))
	}
	return nil
}

func certInfo(c *x509.Certificate) CertInfo {
	return CertInfo{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotAfter: c.NotAfter.UTC(), SHA256: fingerprint(c.Raw)}
}

// OAuth2 grant types and client authentication methods, as Svix names
// them (Oauth2GrantTypeInOut, Oauth2AuthMethodInOut).
const (
	GrantClientCredentials = "clientCredentials"
	GrantRefreshToken      = "refreshToken"
	AuthClientSecretBasic  = "clientSecretBasic"
	AuthClientSecretPost   = "clientSecretPost"
	AuthClientSecretJWT    = "clientSecretJwt"
)

// OAuthConfig is an endpoint's OAuth2 client: how Hookline gets the access
// token it sends as "Authorization: Bearer". ClientSecret and
// RefreshToken are secrets: stored sealed, never read back.
type OAuthConfig struct {
	GrantType    string
	AuthMethod   string
	ClientID     string
	ClientSecret string
	TokenURL     string
	Scopes       []string
	ExtraParams  map[string]string
	RefreshToken string
	ExtraHeaders map[string]string
}

// Validate checks c as PUT …/oauth must: known grant and method, the
// secrets each needs, and a token URL that passes the endpoint URL rules
// (and, unless allowPrivate, names no private address). Failures are
// Invalid errors on the field at fault.
func (c OAuthConfig) Validate(allowPrivate bool) error {
	switch c.GrantType {
	case GrantClientCredentials, GrantRefreshToken:
	default:
		return Invalid("grantType", "grantType must be clientCredentials or refreshToken")
	}
	switch c.AuthMethod {
	case AuthClientSecretBasic, AuthClientSecretPost:
	case AuthClientSecretJWT:
		return Invalid("authMethod", "clientSecretJwt is not supported; use clientSecretBasic or clientSecretPost")
	default:
		return Invalid("authMethod", "authMethod must be clientSecretBasic or clientSecretPost")
	}
	if c.ClientID == "" {
		return Invalid("clientId", "field required")
	}
	if c.GrantType == GrantClientCredentials && c.ClientSecret == "" {
		return Invalid("clientSecret", "clientCredentials needs a clientSecret")
	}
	if c.GrantType == GrantRefreshToken && c.RefreshToken == "" {
		return Invalid("refreshToken", "the refreshToken grant needs a refreshToken")
	}
	if err := CheckEndpointTarget(c.TokenURL, allowPrivate); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == CodeInvalid {
			return Invalid("tokenUrl", e.Message)
		}
		return err
	}
	if err := ValidateHeaders(c.ExtraHeaders); err != nil {
		return err
	}
	return nil
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Certificate kinds of an ExpiringCert.
const (
	CertClientIdentity = "clientIdentity"
	CertServerCA       = "serverCa"
)

// ExpiringCert is a stored certificate that expires within
// CertExpiryWarning and nobody was warned about yet.
type ExpiringCert struct {
	TenantID   string
	AppID      string
	EndpointID string
	// Kind is CertClientIdentity or CertServerCA.
	Kind string
	Info CertInfo
}

// EndpointSecurityInfo is what the API shows of an endpoint's security
// settings: descriptions, never a private key or an OAuth2 secret.
type EndpointSecurityInfo struct {
	ClientIdentity *CertInfo // nil: no mTLS
	ServerCA       *string   // the PEM, public; nil: the system pool
	// OAuth is the OAuth2 client with ClientSecret and RefreshToken
	// emptied; nil: none.
	OAuth *OAuthConfig
}
