package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// Endpoint security (issue 23): the operator's default signature scheme,
// and Svix's routes of an endpoint's mTLS identity (…/mtls), server CA
// (…/ca) and OAuth2 client (…/oauth). Keys and OAuth2 secrets go in and
// never come out; GET shows what a certificate is and when it expires.

// SecurityStore is the part of Store behind these routes (package store
// implements it).
type SecurityStore interface {
	SetEndpointMTLS(ctx context.Context, tenantID, appID, ref string, id tenants.ClientIdentity) error
	DeleteEndpointMTLS(ctx context.Context, tenantID, appID, ref string) error
	SetEndpointServerCA(ctx context.Context, tenantID, appID, ref string, bundle *string, info tenants.CertInfo) error
	SetEndpointOAuth(ctx context.Context, tenantID, appID, ref string, c tenants.OAuthConfig) error
	DeleteEndpointOAuth(ctx context.Context, tenantID, appID, ref string) error
	FindEndpointSecurity(ctx context.Context, tenantID, appID, ref string) (tenants.EndpointSecurityInfo, error)
}

// defaultSecret gives a new endpoint without a secret of its own a key of
// the operator's default scheme; with the HMAC default the store
// generates one.
func (s *Server) defaultSecret(in *tenants.EndpointInput) {
	if in.Secret == nil && s.opts.DefaultSignature == tenants.SignatureEd25519 {
		k := tenants.NewEd25519EndpointSecret()
		in.Secret = &k
	}
}

// securityRoutes are the routes of this file, app-scoped like the
// endpoint's other routes (a portal link with ManageEndpoint may change
// them: routeCapabilities).
func (s *Server) securityRoutes() []route {
	const r, w = false, true
	ep := "/api/v1/app/:app_id/endpoint/:endpoint_id"
	return []route{
		{"GET", ep + "/mtls", scopeApp, r, s.getEndpointMTLS},
		{"GET", ep + "/mtls-config", scopeApp, r, s.getEndpointMTLSState},
		{"PUT", ep + "/mtls", scopeApp, w, s.setEndpointMTLS},
		{"DELETE", ep + "/mtls", scopeApp, w, s.deleteEndpointMTLS},
		{"GET", ep + "/ca", scopeApp, r, s.getEndpointServerCA},
		{"PUT", ep + "/ca", scopeApp, w, s.setEndpointServerCA},
		{"GET", ep + "/oauth", scopeApp, r, s.getEndpointOAuth},
		{"GET", ep + "/oauth-config", scopeApp, r, s.getEndpointOAuthState},
		{"PUT", ep + "/oauth", scopeApp, w, s.setEndpointOAuth},
		{"DELETE", ep + "/oauth", scopeApp, w, s.deleteEndpointOAuth},
	}
}

// Wire shapes (Svix's EndpointMtlsConfigIn/Out, EndpointMtlsOut,
// EndpointServerCaIn/Out, EndpointOauthConfigIn/Out, EndpointOauthOut).
// Svix's EndpointMtlsConfigOut is an empty object; Hookline fills it with
// the certificate's description.
type (
	endpointMtlsConfigIn struct {
		Identity *string `json:"identity"`
	}
	endpointMtlsConfigOut struct {
		Subject  string    `json:"subject"`
		Issuer   string    `json:"issuer"`
		NotAfter time.Time `json:"notAfter"`
		SHA256   string    `json:"sha256"`
	}
	endpointMtlsOut struct {
		Enabled bool                   `json:"enabled"`
		Config  *endpointMtlsConfigOut `json:"config"`
	}
	endpointServerCaIn struct {
		Cert *string `json:"cert"`
	}
	endpointServerCaOut struct {
		Cert *string `json:"cert"`
	}
	endpointOauthConfigIn struct {
		GrantType    *string           `json:"grantType"`
		AuthMethod   *string           `json:"authMethod"`
		ClientID     *string           `json:"clientId"`
		ClientSecret *string           `json:"clientSecret"`
		TokenURL     *string           `json:"tokenUrl"`
		Scopes       []string          `json:"scopes"`
		ExtraParams  map[string]string `json:"extraParams"`
		RefreshToken *string           `json:"refreshToken"`
		ExtraHeaders map[string]string `json:"extraHeaders"`
		JWTParams    any               `json:"jwtParams"`
	}
	endpointOauthConfigOut struct {
		GrantType    string            `json:"grantType"`
		AuthMethod   string            `json:"authMethod"`
		ClientID     string            `json:"clientId"`
		TokenURL     string            `json:"tokenUrl"`
		Scopes       []string          `json:"scopes"`
		ExtraParams  map[string]string `json:"extraParams"`
		ExtraHeaders map[string]string `json:"extraHeaders"`
	}
	endpointOauthOut struct {
		Enabled bool                    `json:"enabled"`
		Config  *endpointOauthConfigOut `json:"config"`
	}
)

// security loads the app of the request and endpoint ref's settings.
func (s *Server) security(c *gin.Context) (tenants.Application, tenants.EndpointSecurityInfo, error) {
	a, err := s.loadApp(c)
	if err != nil {
		return a, tenants.EndpointSecurityInfo{}, err
	}
	info, err := s.store.FindEndpointSecurity(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	return a, info, err
}

func toMTLSConfigOut(ci *tenants.CertInfo) *endpointMtlsConfigOut {
	if ci == nil {
		return nil
	}
	return &endpointMtlsConfigOut{Subject: ci.Subject, Issuer: ci.Issuer, NotAfter: ci.NotAfter, SHA256: ci.SHA256}
}

func (s *Server) getEndpointMTLS(c *gin.Context) error {
	_, info, err := s.security(c)
	if err != nil {
		return err
	}
	if info.ClientIdentity == nil {
		return &tenants.Error{Code: tenants.CodeNotFound, Message: "this endpoint has no mTLS identity"}
	}
	c.JSON(http.StatusOK, toMTLSConfigOut(info.ClientIdentity))
	return nil
}

func (s *Server) getEndpointMTLSState(c *gin.Context) error {
	_, info, err := s.security(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, endpointMtlsOut{Enabled: info.ClientIdentity != nil, Config: toMTLSConfigOut(info.ClientIdentity)})
	return nil
}

func (s *Server) setEndpointMTLS(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in endpointMtlsConfigIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Identity == nil {
		return tenants.Invalid("identity", "field required")
	}
	id, err := tenants.ParseClientIdentity(*in.Identity, s.store.Now())
	if err != nil {
		return err
	}
	if err := s.store.SetEndpointMTLS(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) deleteEndpointMTLS(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteEndpointMTLS(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) getEndpointServerCA(c *gin.Context) error {
	_, info, err := s.security(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, endpointServerCaOut{Cert: info.ServerCA})
	return nil
}

func (s *Server) setEndpointServerCA(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in endpointServerCaIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	var info tenants.CertInfo
	if in.Cert != nil {
		if info, err = tenants.ParseServerCA(*in.Cert, s.store.Now()); err != nil {
			return err
		}
	}
	if err := s.store.SetEndpointServerCA(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), in.Cert, info); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func toOAuthConfigOut(o *tenants.OAuthConfig) *endpointOauthConfigOut {
	if o == nil {
		return nil
	}
	return &endpointOauthConfigOut{GrantType: o.GrantType, AuthMethod: o.AuthMethod, ClientID: o.ClientID, TokenURL: o.TokenURL,
		Scopes: o.Scopes, ExtraParams: o.ExtraParams, ExtraHeaders: o.ExtraHeaders}
}

func (s *Server) getEndpointOAuth(c *gin.Context) error {
	_, info, err := s.security(c)
	if err != nil {
		return err
	}
	if info.OAuth == nil {
		return &tenants.Error{Code: tenants.CodeNotFound, Message: "this endpoint has no OAuth2 configuration"}
	}
	c.JSON(http.StatusOK, toOAuthConfigOut(info.OAuth))
	return nil
}

func (s *Server) getEndpointOAuthState(c *gin.Context) error {
	_, info, err := s.security(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, endpointOauthOut{Enabled: info.OAuth != nil, Config: toOAuthConfigOut(info.OAuth)})
	return nil
}

func (s *Server) setEndpointOAuth(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	var in endpointOauthConfigIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	for field, v := range map[string]*string{"grantType": in.GrantType, "authMethod": in.AuthMethod, "clientId": in.ClientID, "tokenUrl": in.TokenURL} {
		if v == nil {
			return tenants.Invalid(field, "field required")
		}
	}
	cfg := tenants.OAuthConfig{
		GrantType: *in.GrantType, AuthMethod: *in.AuthMethod, ClientID: *in.ClientID, TokenURL: *in.TokenURL,
		Scopes: in.Scopes, ExtraParams: in.ExtraParams, ExtraHeaders: in.ExtraHeaders,
	}
	if in.ClientSecret != nil {
		cfg.ClientSecret = *in.ClientSecret
	}
	if in.RefreshToken != nil {
		cfg.RefreshToken = *in.RefreshToken
	}
	if err := cfg.Validate(s.opts.AllowPrivateTargets); err != nil {
		return err
	}
	if err := s.store.SetEndpointOAuth(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), cfg); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) deleteEndpointOAuth(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	if err := s.store.DeleteEndpointOAuth(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
