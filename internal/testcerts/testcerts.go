// Package testcerts makes X.509 certificates for tests: a CA, server
// certificates for loopback addresses and client certificates, all signed
// in memory with ECDSA P-256. Only tests import it.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// Cert is a certificate with its key, parsed and as PEM.
type Cert struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// IdentityPEM is the key and the certificate in one PEM string, as Svix's
// EndpointMtlsConfigIn.identity takes them.
func (c Cert) IdentityPEM() string { return string(c.KeyPEM) + string(c.CertPEM) }

// TLS returns c as a tls.Certificate.
func (c Cert) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
}

// Pool returns a pool holding c alone.
func (c Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Cert)
	return p
}

// Options shape a certificate; the zero value is valid from an hour ago
// for a day.
type Options struct {
	CommonName string
	NotBefore  time.Time
	NotAfter   time.Time
	IPs        []net.IP
	Client     bool // extended key usage: client auth (else server auth)
	CA         bool
}

// New makes a certificate signed by parent (self-signed when parent is
// nil).
func New(t testing.TB, parent *Cert, o Options) Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(24 * time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: o.CommonName, Organization: []string{"Hookline tests"}},
		NotBefore: o.NotBefore, NotAfter: o.NotAfter, IPAddresses: o.IPs,
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
	}
	switch {
	case o.CA:
		tpl.IsCA, tpl.KeyUsage = true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
	case o.Client:
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, signerKey := tpl, key
	if parent != nil {
		signer, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Cert{Cert: cert, Key: key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})}
}

// Loopback returns the addresses a server on 127.0.0.1 is named by.
func Loopback() []net.IP { return []net.IP{net.IPv4(127, 0, 0, 1)} }
