package api

import (
	"slices"
	"strings"
	"time"

	"github.com/svix/svix-webhooks/go/models"
)

// The OpenAPI document's operations beyond Svix's own document
// (openapi/svix-openapi.json), by area. Paths are written as registered in
// gin. Request and response values only give their Go types: schemas are
// derived from them (openapi.go). Svix routes beyond the Svix document use
// the Svix SDK's models, which are the wire contract the SDK decodes;
// Hookline's own routes use the structs their handlers encode.
//
// To document a new route, add one line to its area's list (or a new area
// function to operations); TestOpenAPI_RouteTable names what is missing.

// openAPIExcluded are registered routes the document leaves out on
// purpose: the portal's HTML pages and static assets, not an API.
// OpenAPIExcluded reports whether a registered route is left out of the
// document on purpose: the portal's and the console's pages and assets,
// and the console's own JSON routes, which only its page calls (UI-private,
// free to change with it).
func OpenAPIExcluded(method, path string) bool {
	return slices.Contains(openAPIExcluded, method+" "+path) || strings.HasPrefix(path, "/console")
}

// OpenAPIExcludedRoutes lists the single routes OpenAPIExcluded names.
func OpenAPIExcludedRoutes() []string { return slices.Clone(openAPIExcluded) }

var openAPIExcluded = []string{
	"GET /portal",
	"GET /portal/",
	"GET /portal/o/:tenant_id/",
	"GET /portal/assets/*filepath",
}

// sdkEnums are the enums of Svix's document that the Svix SDK (v1.99.1,
// newer than the document) has grown, and Hookline answers with: the SDK's
// values replace the document's.
var sdkEnums = map[string][]any{
	"BackgroundTaskStatus": {"running", "finished", "failed"},
	"BackgroundTaskType": {"endpoint.replay", "endpoint.recover", "application.stats", "message.broadcast", "sdk.generate",
		"event-type.aggregate", "application.purge_content", "endpoint.bulk-replay"},
	"MessageStatus":     {0, 1, 2, 3, 4},
	"MessageStatusText": {"success", "pending", "fail", "sending", "canceled"},
}

func operations() []op {
	var all []op
	for _, area := range [][]op{
		healthOps(), svixBeyondOps(), operationalOps(), portalOps(), settingsOps(), adminOps(), billingOps(), destinationOps(), securityOps(),
	} {
		all = append(all, area...)
	}
	return all
}

// Shapes of handlers that answer with gin.H, for the document.
type (
	healthzOut struct {
		Status  string `json:"status"`
		Version string `json:"version"`
	}
	readyzOut struct {
		Status   string           `json:"status"`
		Database *componentHealth `json:"database,omitempty"`
		Redis    *componentHealth `json:"redis,omitempty"`
	}
	healthOut struct {
		Database componentHealth `json:"database"`
		Queue    componentHealth `json:"queue"`
		Cache    componentHealth `json:"cache"`
	}
	endpointRatesOut struct {
		Since time.Time         `json:"since"`
		Data  []endpointRateOut `json:"data"`
	}
	createTenantOut struct {
		Tenant tenantOut `json:"tenant"`
		APIKey apiKeyOut `json:"apiKey"`
		JWT    string    `json:"jwt"`
	}
	apiKeysOut struct {
		Data []apiKeyOut `json:"data"`
	}
	tokenOut struct {
		Token string `json:"token"`
	}
	plansOut struct {
		Data []planOut `json:"data"`
	}
	stripeWebhookOut struct {
		Received  bool   `json:"received"`
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
)

func healthOps() []op {
	return []op{
		{method: "GET", path: "/healthz", tag: "Hookline Health", summary: "Liveness: the process answers.", auth: authNone, ok: 200, resp: healthzOut{}},
		{method: "GET", path: "/readyz", tag: "Hookline Health", summary: "Readiness: PostgreSQL and Redis answer and the process is not draining.",
			auth: authNone, ok: 200, resp: readyzOut{}, more: map[int]any{503: readyzOut{}}},
		{method: "GET", path: "/metrics", tag: "Hookline Health", summary: "Prometheus metrics (behind HOOKLINE_METRICS_TOKEN when set).",
			auth: authNone, ok: 200, resp: mediaText("text/plain"), more: map[int]any{401: httpErrorDoc{}}},
		// Svix documents a bare 204; Hookline answers with the components'
		// state, and 500 when one is down.
		{method: "GET", path: "/api/v1/health", amend: true, ok: 200, resp: healthOut{}, more: map[int]any{500: healthOut{}}},
		{method: "HEAD", path: "/api/v1/health", amend: true, ok: 200, more: map[int]any{500: nil}},
		{method: "GET", path: "/api/v1/openapi.json", tag: "Hookline Health", summary: "This document.", auth: authNone, ok: 200, resp: map[string]any{}},
	}
}

// httpErrorDoc documents an error body outside the common set.
type httpErrorDoc struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// svixBeyondOps are Svix routes that Svix's document (our copy) lacks,
// described by the Svix SDK's models.
func svixBeyondOps() []op {
	return []op{
		// Svix's document gives these no success answer; Svix answers 204.
		{method: "DELETE", path: "/api/v1/app/:app_id/msg/:msg_id/content", amend: true, ok: 204},
		{method: "DELETE", path: "/api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id/content", amend: true, ok: 204},

		{method: "POST", path: "/api/v1/auth/dashboard-access/:app_id", tag: "Authentication",
			summary: "Deprecated: use app-portal-access.", ok: 200, resp: models.DashboardAccessOut{}},
		{method: "POST", path: "/api/v1/auth/app/:app_id/expire-all", tag: "Authentication",
			summary: "Expire all of the tokens associated with a specific application.", body: models.ApplicationTokenExpireIn{}, ok: 204},
		{method: "POST", path: "/api/v1/app/:app_id/endpoint/:endpoint_id/replay-missing", tag: "Endpoint",
			summary: "Replays messages to the endpoint: only messages never successfully delivered to it.", body: models.ReplayIn{}, ok: 202, resp: models.ReplayOut{}},
		{method: "POST", path: "/api/v1/app/:app_id/endpoint/:endpoint_id/bulk-replay", tag: "Endpoint",
			summary: "Bulk replay messages sent to the endpoint.", body: models.BulkReplayIn{}, ok: 202, resp: models.ReplayOut{}},
		{method: "POST", path: "/api/v1/app/:app_id/msg/expunge-all-contents", tag: "Message",
			summary: "Delete all message payloads for the application.", ok: 202, resp: models.ExpungeAllContentsOut{}},
		{method: "POST", path: "/api/v1/app/:app_id/msg/precheck/active", tag: "Message",
			summary: "Whether any endpoint would receive a message of this event type and channels.", body: models.MessagePrecheckIn{}, ok: 200, resp: models.MessagePrecheckOut{}},
		{method: "GET", path: "/api/v1/background-task", tag: "Background Task", summary: "List background tasks executed in the past 90 days.",
			query: []param{{"status", "", "running, finished or failed"}, {"task", "", "the task type"}, {"limit", "integer", "Limit the number of returned items"}, {"iterator", "", "The iterator returned from a prior invocation"}, {"order", "", "ascending or descending"}},
			ok:    200, resp: models.ListResponseBackgroundTaskOut{}},
		{method: "GET", path: "/api/v1/background-task/:task_id", tag: "Background Task", summary: "Get a background task by ID.", ok: 200, resp: models.BackgroundTaskOut{}},
		{method: "POST", path: "/api/v1/stats/usage/app", tag: "Statistics", summary: "Creates a background task to calculate the message destinations for all applications in the environment.",
			body: models.AppUsageStatsIn{}, ok: 202, resp: models.AppUsageStatsOut{}},
		{method: "PUT", path: "/api/v1/stats/usage/event-types", tag: "Statistics", summary: "Creates a background task to calculate the listed event types for all apps in the organization.",
			ok: 202, resp: models.AggregateEventTypesOut{}},
		{method: "POST", path: "/api/v1/event-type/import/openapi", tag: "Event Type", summary: "Given an OpenAPI spec, create new or update existing event types.",
			body: models.EventTypeImportOpenApiIn{}, ok: 200, resp: models.EventTypeImportOpenApiOut{}},
		{method: "POST", path: "/api/v1/environment/export", tag: "Environment", summary: "Download a JSON file containing all org-settings and event types.", ok: 200, resp: models.EnvironmentOut{}},
		{method: "POST", path: "/api/v1/environment/import", tag: "Environment", summary: "Import a configuration into the active organization.", body: models.EnvironmentIn{}, ok: 204},
		{method: "GET", path: "/api/v1/app/:app_id/endpoint/:endpoint_id/transformation", tag: "Endpoint",
			summary: "Get the transformation code associated with this endpoint (variables' values masked).", ok: 200, resp: transformationOut{}},
		{method: "PATCH", path: "/api/v1/app/:app_id/endpoint/:endpoint_id/transformation", tag: "Endpoint",
			summary: "Set or unset the transformation code associated with this endpoint.", body: models.EndpointTransformationPatch{}, ok: 204},
		{method: "POST", path: "/api/v1/app/:app_id/endpoint/:endpoint_id/transformation/simulate", tag: "Endpoint",
			summary: "Simulate running the transformation on the payload and code.", body: transformationSimulateIn{}, ok: 200, resp: transformationSimulateOut{}},
	}
}

func operationalOps() []op {
	const base = "/api/v1/operational-webhook/endpoint"
	const ep = base + "/:endpoint_id"
	const tag = "Webhook Endpoint"
	page := []param{{"limit", "integer", "Limit the number of returned items"}, {"iterator", "", "The iterator returned from a prior invocation"}, {"order", "", "ascending or descending"}}
	return []op{
		{method: "GET", path: base, tag: tag, summary: "List operational webhook endpoints.", query: page, ok: 200, resp: models.ListResponseOperationalWebhookEndpointOut{}},
		{method: "POST", path: base, tag: tag, summary: "Create an operational webhook endpoint.", body: models.OperationalWebhookEndpointIn{}, ok: 201, resp: models.OperationalWebhookEndpointOut{}},
		{method: "GET", path: ep, tag: tag, summary: "Get an operational webhook endpoint.", ok: 200, resp: models.OperationalWebhookEndpointOut{}},
		{method: "PUT", path: ep, tag: tag, summary: "Update an operational webhook endpoint.", body: models.OperationalWebhookEndpointUpdate{}, ok: 200, resp: models.OperationalWebhookEndpointOut{}},
		{method: "DELETE", path: ep, tag: tag, summary: "Delete an operational webhook endpoint.", ok: 204},
		{method: "GET", path: ep + "/secret", tag: tag, summary: "Get an operational webhook endpoint's signing secret.", ok: 200, resp: models.OperationalWebhookEndpointSecretOut{}},
		{method: "POST", path: ep + "/secret/rotate", tag: tag, summary: "Rotates an operational webhook endpoint's signing secret.", body: models.OperationalWebhookEndpointSecretIn{}, ok: 204},
		{method: "GET", path: ep + "/headers", tag: tag, summary: "Get the additional headers to be sent with the operational webhook.", ok: 200, resp: models.OperationalWebhookEndpointHeadersOut{}},
		{method: "PUT", path: ep + "/headers", tag: tag, summary: "Set the additional headers to be sent with the operational webhook.", body: models.OperationalWebhookEndpointHeadersIn{}, ok: 204},
		{method: "PATCH", path: ep + "/headers", tag: tag, summary: "Hookline extension: add, change or (with null) delete some headers.", body: headersIn{}, ok: 204},
	}
}

// operationalWebhooks are the operational events Svix's document lacks.
func operationalWebhooks() []webhook {
	return []webhook{
		{name: "EndpointEnabledEvent", summary: "Sent when an endpoint has been enabled.", body: models.EndpointEnabledEvent{}},
		{name: "BackgroundTaskFinishedEvent", summary: "Sent when a background task is finished.", body: models.BackgroundTaskFinishedEvent{}},
		{name: "EndpointCertificateExpiringEvent", summary: "Hookline: sent when an endpoint's mTLS certificate or server CA expires within 14 days.", body: endpointCertificateExpiringEvent{}},
	}
}

func portalOps() []op {
	const tag = "Hookline Portal"
	return []op{
		{method: "GET", path: "/api/v1/auth/portal-session", tag: tag, summary: "What the calling token may do, and the tenant's portal branding.", ok: 200, resp: map[string]any{}},
		{method: "GET", path: "/api/v1/app/:app_id/endpoint-stats", tag: tag, summary: "Each endpoint's success rate over the last day.", ok: 200, resp: endpointRatesOut{}},
		{method: "GET", path: "/api/v1/app/:app_id/delivery-status", tag: tag, summary: "Each listed message's delivery state per endpoint (succeeded, failed, pending, scheduled, sending).", ok: 200, resp: map[string]any{}},
		{method: "GET", path: "/api/v1/app/:app_id/failed-msg", tag: tag, summary: "Messages whose latest delivery to some endpoint failed.", ok: 200, resp: listOut[messageOut]{}},
		{method: "POST", path: "/admin/v1/tenants/:tenant_id/revoke-tokens", tag: "Hookline Admin", summary: "Refuse every tenant JWT issued before now (or the given time).", auth: authAdmin, ok: 200, resp: map[string]any{}},
		{method: "GET", path: "/admin/v1/tenants/:tenant_id/retention", tag: "Hookline Admin", summary: "The tenant's retention: its own setting, its plan's and the one in force.", auth: authAdmin, ok: 200, resp: retentionOut{}},
		{method: "PUT", path: "/admin/v1/tenants/:tenant_id/retention", tag: "Hookline Admin", summary: "Set the tenant's retention in days (null: its plan's).", auth: authAdmin, body: retentionIn{}, ok: 200, resp: retentionOut{}},
		{method: "POST", path: "/admin/v1/tenants/:tenant_id/console-link", tag: "Hookline Admin", summary: "A one-time link into the tenant's console.", auth: authAdmin, ok: 201, resp: map[string]any{}},
	}
}

func settingsOps() []op {
	const tag = "Hookline Settings"
	return []op{
		{method: "GET", path: "/api/v1/settings", tag: tag, summary: "The tenant's portal settings.", ok: 200, resp: map[string]any{}},
		{method: "PATCH", path: "/api/v1/settings", tag: tag, summary: "Change the tenant's portal settings (null resets a field).", body: map[string]any{}, ok: 200, resp: map[string]any{}},
		{method: "GET", path: "/admin/v1/tenants/:tenant_id/settings", tag: tag, summary: "A tenant's portal settings.", auth: authAdmin, ok: 200, resp: map[string]any{}},
		{method: "PATCH", path: "/admin/v1/tenants/:tenant_id/settings", tag: tag, summary: "Change a tenant's portal settings.", auth: authAdmin, body: map[string]any{}, ok: 200, resp: map[string]any{}},
	}
}

func adminOps() []op {
	const tag = "Hookline Admin"
	const t = "/admin/v1/tenants/:tenant_id"
	page := []param{{"limit", "integer", "Limit the number of returned items"}, {"iterator", "", "The iterator returned from a prior invocation"}}
	return []op{
		{method: "POST", path: "/admin/v1/tenants", tag: tag, summary: "Create a tenant, with a first API key and a JWT.", auth: authAdmin, body: createTenantIn{}, ok: 201, resp: createTenantOut{}},
		{method: "GET", path: "/admin/v1/tenants", tag: tag, summary: "List tenants.", auth: authAdmin, query: page, ok: 200, resp: listOut[tenantOut]{}},
		{method: "GET", path: t, tag: tag, summary: "Get a tenant.", auth: authAdmin, ok: 200, resp: tenantOut{}},
		{method: "POST", path: t + "/suspend", tag: tag, summary: "Suspend a tenant: its credentials stop working.", auth: authAdmin, ok: 200, resp: tenantOut{}},
		{method: "POST", path: t + "/resume", tag: tag, summary: "Resume a suspended tenant.", auth: authAdmin, ok: 200, resp: tenantOut{}},
		{method: "GET", path: t + "/api-keys", tag: tag, summary: "List a tenant's API keys (never the keys themselves).", auth: authAdmin, ok: 200, resp: apiKeysOut{}},
		{method: "POST", path: t + "/api-keys", tag: tag, summary: "Create an API key; the key is shown only in this answer.", auth: authAdmin, body: createAPIKeyIn{}, ok: 201, resp: apiKeyOut{}},
		{method: "DELETE", path: t + "/api-keys/:key_id", tag: tag, summary: "Revoke an API key.", auth: authAdmin, ok: 200, resp: apiKeyOut{}},
		{method: "POST", path: t + "/jwt", tag: tag, summary: "Issue a tenant JWT.", auth: authAdmin, ok: 200, resp: tokenOut{}},
	}
}

func billingOps() []op {
	return []op{
		{method: "GET", path: "/api/v1/usage", tag: "Hookline Usage", summary: "The tenant's billable deliveries per day and in the current period.",
			query: []param{{"since", "", "RFC 3339 start (default: 30 days ago)"}, {"until", "", "RFC 3339 end (default: now)"}}, ok: 200, resp: UsageOut{}},
		{method: "GET", path: "/admin/v1/plans", tag: "Hookline Admin", summary: "The billing plans.", auth: authAdmin, ok: 200, resp: plansOut{}},
		{method: "GET", path: "/admin/v1/tenants/:tenant_id/billing", tag: "Hookline Admin", summary: "A tenant's plan, Stripe link and usage.", auth: authAdmin, ok: 200, resp: billingAccountOut{}},
		{method: "PUT", path: "/admin/v1/tenants/:tenant_id/plan", tag: "Hookline Admin", summary: "Set a tenant's plan (and custom cap).", auth: authAdmin, body: setPlanIn{}, ok: 200, resp: billingAccountOut{}},
		{method: "PUT", path: "/admin/v1/tenants/:tenant_id/stripe", tag: "Hookline Admin", summary: "Link a tenant to a Stripe customer and subscription.", auth: authAdmin, body: attachStripeIn{}, ok: 200, resp: billingAccountOut{}},
		{method: "POST", path: "/billing/stripe/webhook", tag: "Hookline Billing", summary: "Stripe's webhooks, verified with the Stripe-Signature header.",
			auth: authNone, ok: 200, resp: stripeWebhookOut{}, more: map[int]any{400: httpErrorDoc{}, 404: httpErrorDoc{}}},
	}
}
