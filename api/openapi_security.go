package api

import "github.com/hookline/hookline/operational"

// endpointCertificateExpiringEvent documents endpoint.certificate_expiring.
type endpointCertificateExpiringEvent struct {
	Data operational.CertificateData `json:"data"`
	Type string                      `json:"type"`
}

// securityOps documents the routes of endpoint_security.go: Svix's (from
// its 1.947 document) with Svix's schema names.
func securityOps() []op {
	const ep = "/api/v1/app/:app_id/endpoint/:endpoint_id"
	const tag = "Endpoint"
	return []op{
		{method: "GET", path: ep + "/mtls", tag: tag, summary: "Get the endpoint's mTLS client certificate: its subject, issuer, fingerprint and expiry (never the key).",
			ok: 200, resp: endpointMtlsConfigOut{}},
		{method: "GET", path: ep + "/mtls-config", tag: tag, summary: "Whether the endpoint presents an mTLS client certificate, and which.", ok: 200, resp: endpointMtlsOut{}},
		{method: "PUT", path: ep + "/mtls", tag: tag, summary: "Set the endpoint's mTLS identity: a PEM private key and its certificate, stored sealed.",
			body: endpointMtlsConfigIn{}, ok: 204},
		{method: "DELETE", path: ep + "/mtls", tag: tag, summary: "Remove the endpoint's mTLS identity.", ok: 204},
		{method: "GET", path: ep + "/ca", tag: tag, summary: "Get the CA the endpoint's server certificate is verified against (null: the system's).", ok: 200, resp: endpointServerCaOut{}},
		{method: "PUT", path: ep + "/ca", tag: tag, summary: "Set the CA (PEM) the endpoint's server certificate is verified against; null for the system's.",
			body: endpointServerCaIn{}, ok: 204},
		{method: "GET", path: ep + "/oauth", tag: tag, summary: "Get the endpoint's OAuth2 client (never its secrets).", ok: 200, resp: endpointOauthConfigOut{}},
		{method: "GET", path: ep + "/oauth-config", tag: tag, summary: "Whether the endpoint's requests carry an OAuth2 bearer token, and from where.", ok: 200, resp: endpointOauthOut{}},
		{method: "PUT", path: ep + "/oauth", tag: tag, summary: "Set the endpoint's OAuth2 client: every request carries a bearer token from its token URL.",
			body: endpointOauthConfigIn{}, ok: 204},
		{method: "DELETE", path: ep + "/oauth", tag: tag, summary: "Remove the endpoint's OAuth2 client.", ok: 204},
	}
}
