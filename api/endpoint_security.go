package api

import (
	"github.com/hookline/hookline/tenants"
)

// Endpoint security (issue 23): the operator's default signature scheme,
// and the routes of an endpoint's mTLS identity, server CA and OAuth2
// configuration.

// defaultSecret gives a new endpoint without a secret of its own a key of
// the operator's default scheme; with the HMAC default the store
// generates one.
func (s *Server) defaultSecret(in *tenants.EndpointInput) {
	if in.Secret == nil && s.opts.DefaultSignature == tenants.SignatureEd25519 {
		k := tenants.NewEd25519EndpointSecret()
		in.Secret = &k
	}
}
