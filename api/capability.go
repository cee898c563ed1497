package api

import "github.com/hookline/hookline/tenants"

// appPrincipal is who an app-portal token acts for.
func appPrincipal(t tenants.AppToken) Principal {
	return Principal{
		TenantID: t.TenantID, AppID: t.AppID, ReadOnly: t.ReadOnly,
		SessionID: t.SessionID, TokenID: t.ID, Capabilities: t.Capabilities,
	}
}

// routeCapabilities names the capabilities (any one of them suffices) an
// app-portal token needs on the app-scoped routes beyond CapViewBase. The
// keys are route-table entries; TestRouteCapabilities checks they exist.
var routeCapabilities = map[string]tenants.Capability{
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/secret":              tenants.CapViewEndpointSecret | tenants.CapManageEndpointSecret | tenants.CapManageEndpoint,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/secret/rotate":      tenants.CapManageEndpointSecret | tenants.CapManageEndpoint,
	"POST /api/v1/app/:app_id/endpoint":                                 tenants.CapManageEndpoint,
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id":                     tenants.CapManageEndpoint,
	"PATCH /api/v1/app/:app_id/endpoint/:endpoint_id":                   tenants.CapManageEndpoint,
	"DELETE /api/v1/app/:app_id/endpoint/:endpoint_id":                  tenants.CapManageEndpoint,
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/headers":             tenants.CapManageEndpoint,
	"PATCH /api/v1/app/:app_id/endpoint/:endpoint_id/headers":           tenants.CapManageEndpoint,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/recover":            tenants.CapCreateAttempts,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/replay-missing":     tenants.CapCreateAttempts,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/send-example":       tenants.CapCreateAttempts,
	"POST /api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend": tenants.CapCreateAttempts,
	// Destinations are edited as endpoints are.
	"POST /api/v1/app/:app_id/destination":                               tenants.CapManageEndpoint,
	"PUT /api/v1/app/:app_id/destination/:destination_id":                tenants.CapManageEndpoint,
	"PATCH /api/v1/app/:app_id/destination/:destination_id":              tenants.CapManageEndpoint,
	"DELETE /api/v1/app/:app_id/destination/:destination_id":             tenants.CapManageEndpoint,
	"PATCH /api/v1/app/:app_id/destination/:destination_id/headers":      tenants.CapManageEndpoint,
	"POST /api/v1/app/:app_id/destination/:destination_id/skip":          tenants.CapManageEndpoint,
	"POST /api/v1/app/:app_id/destination/:destination_id/force-retry":   tenants.CapManageEndpoint | tenants.CapCreateAttempts,
	"GET /api/v1/app/:app_id/destination/:destination_id/secret":         tenants.CapViewEndpointSecret | tenants.CapManageEndpointSecret | tenants.CapManageEndpoint,
	"POST /api/v1/app/:app_id/destination/:destination_id/secret/rotate": tenants.CapManageEndpointSecret | tenants.CapManageEndpoint,
	// A poller token is a credential to read the endpoint: shown and
	// rotated as its secret is.
	"GET " + pollerTokenPath:                                                       tenants.CapViewEndpointSecret | tenants.CapManageEndpointSecret | tenants.CapManageEndpoint,
	"POST " + pollerTokenPath + "/rotate":                                          tenants.CapManageEndpointSecret | tenants.CapManageEndpoint,
	"PATCH /api/v1/app/:app_id/destination/:destination_id/transformation":         tenants.CapManageEndpoint,
	"POST /api/v1/app/:app_id/destination/:destination_id/transformation/simulate": tenants.CapManageEndpoint,

	// Transformations: saving, and simulating (which runs code with the
	// endpoint's variables).
	"PATCH /api/v1/app/:app_id/endpoint/:endpoint_id/transformation":         tenants.CapManageEndpoint,
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/transformation/simulate": tenants.CapManageEndpoint,
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/mtls":                     tenants.CapManageEndpoint,
	"DELETE /api/v1/app/:app_id/endpoint/:endpoint_id/mtls":                  tenants.CapManageEndpoint,
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/ca":                       tenants.CapManageEndpoint,
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/oauth":                    tenants.CapManageEndpoint,
	"DELETE /api/v1/app/:app_id/endpoint/:endpoint_id/oauth":                 tenants.CapManageEndpoint,
}

// checkCapability refuses (403) an app-portal token that lacks the
// capability a route needs. Tenant credentials are never limited here.
func checkCapability(p Principal, r route) error {
	if p.PollerSink != "" {
		if !pollerRoutes[r.method+" "+r.path] {
			return errForbidden("this poller token may only read its polling endpoint")
		}
		return nil
	}
	if p.AppID == "" {
		return nil
	}
	need, ok := routeCapabilities[r.method+" "+r.path]
	if !ok {
		need = tenants.CapViewBase
	}
	if p.Capabilities&need == 0 {
		return errForbidden("this portal link does not allow this action")
	}
	return nil
}
