package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// isolationCase says what tenant B may get when it calls a route with
// tenant A's identifiers: one of codes, and never A's data.
type isolationCase struct {
	body  string
	codes []int
}

var (
	notFound   = []int{404}
	created    = []int{200, 201} // routes that create in B's own namespace
	ownList    = []int{200}      // listings of B's own things
	adminOnly  = []int{401}      // the operator API wants the admin token
	publicOnly = []int{200, 204}
)

// isolationTable lists every route the API registers. A route missing here
// fails TestTenantIsolation: adding a route means deciding what another
// tenant may see through it.
var isolationTable = map[string]isolationCase{
	"GET /healthz":                               {codes: publicOnly},
	"GET /readyz":                                {codes: publicOnly},
	"GET /api/v1/health":                         {codes: publicOnly},
	"HEAD /api/v1/health":                        {codes: publicOnly},
	"GET /api/v1/health/ping":                    {codes: publicOnly},
	"HEAD /api/v1/health/ping":                   {codes: publicOnly},
	"GET /metrics":                               {codes: publicOnly},
	"GET /api/v1/openapi.json":                   {codes: publicOnly},
	"GET /api/v1/app":                            {codes: ownList},
	"POST /api/v1/app":                           {body: `{"name":"b's app"}`, codes: created},
	"GET /api/v1/app/:app_id":                    {codes: notFound},
	"PUT /api/v1/app/:app_id":                    {body: `{"name":"b's app"}`, codes: created},
	"PATCH /api/v1/app/:app_id":                  {body: `{"name":"x"}`, codes: notFound},
	"DELETE /api/v1/app/:app_id":                 {codes: notFound},
	"GET /api/v1/event-type":                     {codes: ownList},
	"POST /api/v1/event-type":                    {body: `{"name":"b.event","description":"b"}`, codes: []int{201, 409}},
	"GET /api/v1/event-type/:event_type_name":    {codes: notFound},
	"PUT /api/v1/event-type/:event_type_name":    {body: `{"description":"b's own"}`, codes: created},
	"PATCH /api/v1/event-type/:event_type_name":  {body: `{"description":"x"}`, codes: notFound},
	"DELETE /api/v1/event-type/:event_type_name": {codes: notFound},

	"GET /api/v1/app/:app_id/endpoint":                                       {codes: notFound},
	"POST /api/v1/app/:app_id/endpoint":                                      {body: `{"url":"http://127.0.0.1:9/hook"}`, codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id":                          {codes: notFound},
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id":                          {body: `{"url":"http://127.0.0.1:9/hook"}`, codes: notFound},
	"PATCH /api/v1/app/:app_id/endpoint/:endpoint_id":                        {body: `{"description":"x"}`, codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/transformation":           {codes: notFound},
	"PATCH /api/v1/app/:app_id/endpoint/:endpoint_id/transformation":         {body: `{"enabled":true,"code":"function handler(w) { return w; }"}`, codes: notFound},
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/transformation/simulate": {body: `{"code":"function handler(w) { return w; }","eventType":"a.b","payload":{"a":1}}`, codes: notFound},
	"DELETE /api/v1/app/:app_id/endpoint/:endpoint_id":                       {codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/secret":                   {codes: notFound},
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/secret/rotate":           {body: `{}`, codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/headers":                  {codes: notFound},
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/headers":                  {body: `{"headers":{"X-A":"b"}}`, codes: notFound},
	"PATCH /api/v1/app/:app_id/endpoint/:endpoint_id/headers":                {body: `{"headers":{"X-A":"b"}}`, codes: notFound},
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/recover":                 {body: `{"since":"SINCE"}`, codes: notFound},
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/replay-missing":          {body: `{"since":"SINCE"}`, codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/stats":                    {codes: notFound},
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/send-example":            {body: `{"eventType":"svix.ping"}`, codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/msg":                      {codes: notFound},
	"GET /api/v1/app/:app_id/msg":                                            {codes: notFound},
	"POST /api/v1/app/:app_id/msg":                                           {body: `{"eventType":"a.b","payload":{"k":1}}`, codes: notFound},
	"GET /api/v1/app/:app_id/msg/:msg_id":                                    {codes: notFound},
	"DELETE /api/v1/app/:app_id/msg/:msg_id/content":                         {codes: notFound},
	"GET /api/v1/app/:app_id/msg/:msg_id/endpoint":                           {codes: notFound},
	"POST /api/v1/app/:app_id/msg/:msg_id/endpoint/:endpoint_id/resend":      {body: `{}`, codes: notFound},
	"GET /api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id":                {codes: notFound},
	"DELETE /api/v1/app/:app_id/msg/:msg_id/attempt/:attempt_id/content":     {codes: notFound},
	"GET /api/v1/app/:app_id/attempt/endpoint/:endpoint_id":                  {codes: notFound},
	"GET /api/v1/app/:app_id/attempt/msg/:msg_id":                            {codes: notFound},
	// Endpoint security (issue 23).
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/mtls":         {codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/mtls-config":  {codes: notFound},
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/mtls":         {body: `{"identity":"x"}`, codes: notFound},
	"DELETE /api/v1/app/:app_id/endpoint/:endpoint_id/mtls":      {codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/ca":           {codes: notFound},
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/ca":           {body: `{"cert":null}`, codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/oauth":        {codes: notFound},
	"GET /api/v1/app/:app_id/endpoint/:endpoint_id/oauth-config": {codes: notFound},
	"PUT /api/v1/app/:app_id/endpoint/:endpoint_id/oauth":        {body: `{"grantType":"clientCredentials"}`, codes: notFound},
	"DELETE /api/v1/app/:app_id/endpoint/:endpoint_id/oauth":     {codes: notFound},

	"POST /admin/v1/tenants":                               {body: `{"name":"x"}`, codes: adminOnly},
	"GET /admin/v1/tenants":                                {codes: adminOnly},
	"GET /admin/v1/tenants/:tenant_id":                     {codes: adminOnly},
	"POST /admin/v1/tenants/:tenant_id/suspend":            {codes: adminOnly},
	"POST /admin/v1/tenants/:tenant_id/resume":             {codes: adminOnly},
	"GET /admin/v1/tenants/:tenant_id/api-keys":            {codes: adminOnly},
	"POST /admin/v1/tenants/:tenant_id/api-keys":           {codes: adminOnly},
	"DELETE /admin/v1/tenants/:tenant_id/api-keys/:key_id": {codes: adminOnly},
	"POST /admin/v1/tenants/:tenant_id/jwt":                {codes: adminOnly},
	"POST /admin/v1/tenants/:tenant_id/revoke-tokens":      {codes: adminOnly},
	"GET /admin/v1/tenants/:tenant_id/retention":           {codes: adminOnly},
	"PUT /admin/v1/tenants/:tenant_id/retention":           {body: `{"days":7}`, codes: adminOnly},

	// portal routes (issue 4)
	"POST /api/v1/auth/app-portal-access/:app_id": {body: `{}`, codes: notFound},
	"POST /api/v1/auth/dashboard-access/:app_id":  {codes: notFound},
	"POST /api/v1/auth/app/:app_id/expire-all":    {body: `{}`, codes: notFound},
	"POST /api/v1/auth/logout":                    {codes: []int{403}}, // only app-portal tokens log out
	"GET /api/v1/auth/portal-session":             {codes: ownList},
	"GET /api/v1/app/:app_id/endpoint-stats":      {codes: notFound},
	// the portal's status column and failed filter (issue 15)
	"GET /api/v1/app/:app_id/delivery-status":     {codes: notFound},
	"GET /api/v1/app/:app_id/failed-msg":          {codes: notFound},
	"GET /api/v1/settings":                        {codes: ownList},
	"PATCH /api/v1/settings":                      {body: `{"displayName":"B's portal"}`, codes: ownList},
	"GET /admin/v1/tenants/:tenant_id/settings":   {codes: adminOnly},
	"PATCH /admin/v1/tenants/:tenant_id/settings": {body: `{"displayName":"x"}`, codes: adminOnly},
	// The pages are public and hold no data (404 where no portal is wired).
	"GET /portal":                  {codes: []int{200, 404}},
	"GET /portal/":                 {codes: []int{200, 404}},
	"GET /portal/o/:tenant_id/":    {codes: []int{200, 404}},
	"GET /portal/assets/*filepath": {codes: notFound},

	// billing routes (issue 5)
	// Usage is the caller's own (404 on a stack built without billing);
	// TestBilling_UsageIsolation checks B never sees A's deliveries.
	"GET /api/v1/usage":                        {codes: []int{200, 404}},
	"GET /admin/v1/plans":                      {codes: adminOnly},
	"GET /admin/v1/tenants/:tenant_id/billing": {codes: adminOnly},
	"PUT /admin/v1/tenants/:tenant_id/plan":    {body: `{"plan":"free"}`, codes: adminOnly},
	"PUT /admin/v1/tenants/:tenant_id/stripe":  {body: `{}`, codes: adminOnly},
	// Public, signed by Stripe: no signature is a 400 (404 without billing).
	"POST /billing/stripe/webhook": {body: `{}`, codes: []int{400, 404}},

	// parity routes (issue 13): tasks are per tenant; statistics and
	// aggregations run over B's own (empty) world.
	"GET /api/v1/background-task":                                {codes: ownList},
	"GET /api/v1/background-task/:task_id":                       {codes: notFound},
	"POST /api/v1/app/:app_id/endpoint/:endpoint_id/bulk-replay": {body: `{"since":"SINCE"}`, codes: notFound},
	"POST /api/v1/app/:app_id/msg/expunge-all-contents":          {codes: notFound},
	"POST /api/v1/stats/usage/app":                               {body: `{"since":"SINCE","appIds":["a-app"]}`, codes: []int{202}},
	"PUT /api/v1/stats/usage/event-types":                        {codes: []int{202}},
	"POST /api/v1/app/:app_id/msg/precheck/active":               {body: `{"eventType":"a.only"}`, codes: notFound},
	"POST /api/v1/event-type/import/openapi":                     {body: `{"spec":{"openapi":"3.1.0","webhooks":{"b.imported":{"post":{"summary":"B's"}}}}}`, codes: ownList},
	"POST /api/v1/environment/export":                            {codes: ownList},
	"POST /api/v1/environment/import":                            {body: `{"eventTypes":[{"name":"b.env","description":"B's own"}]}`, codes: []int{204}},

	// Operational webhooks: B has its own (empty, then created) set; A's
	// endpoints are not B's operational endpoints.
	"GET /api/v1/operational-webhook/endpoint":                             {codes: ownList},
	"POST /api/v1/operational-webhook/endpoint":                            {body: `{"url":"http://127.0.0.1:1/ops"}`, codes: created},
	"GET /api/v1/operational-webhook/endpoint/:endpoint_id":                {codes: notFound},
	"PUT /api/v1/operational-webhook/endpoint/:endpoint_id":                {body: `{"url":"http://127.0.0.1:1/ops"}`, codes: notFound},
	"DELETE /api/v1/operational-webhook/endpoint/:endpoint_id":             {codes: notFound},
	"GET /api/v1/operational-webhook/endpoint/:endpoint_id/secret":         {codes: notFound},
	"POST /api/v1/operational-webhook/endpoint/:endpoint_id/secret/rotate": {body: `{}`, codes: notFound},
	"GET /api/v1/operational-webhook/endpoint/:endpoint_id/headers":        {codes: notFound},
	"PUT /api/v1/operational-webhook/endpoint/:endpoint_id/headers":        {body: `{"headers":{"X-A":"b"}}`, codes: notFound},
	"PATCH /api/v1/operational-webhook/endpoint/:endpoint_id/headers":      {body: `{"headers":{"X-A":"b"}}`, codes: notFound},

	// Destinations and polling endpoints (issue 21).
	"GET /api/v1/app/:app_id/destination":                                     {codes: notFound},
	"POST /api/v1/app/:app_id/destination":                                    {body: `{"type":"pollingEndpoint"}`, codes: notFound},
	"GET /api/v1/app/:app_id/destination/:destination_id":                     {codes: notFound},
	"PUT /api/v1/app/:app_id/destination/:destination_id":                     {body: `{"type":"pollingEndpoint"}`, codes: notFound},
	"PATCH /api/v1/app/:app_id/destination/:destination_id":                   {body: `{"batchSize":5}`, codes: notFound},
	"DELETE /api/v1/app/:app_id/destination/:destination_id":                  {codes: notFound},
	"GET /api/v1/app/:app_id/destination/:destination_id/secret":              {codes: notFound},
	"POST /api/v1/app/:app_id/destination/:destination_id/secret/rotate":      {body: `{}`, codes: notFound},
	"GET /api/v1/app/:app_id/destination/:destination_id/headers":             {codes: notFound},
	"PATCH /api/v1/app/:app_id/destination/:destination_id/headers":           {body: `{"headers":{"X-A":"b"}}`, codes: notFound},
	"POST /api/v1/app/:app_id/destination/:destination_id/skip":               {body: `{}`, codes: notFound},
	"POST /api/v1/app/:app_id/destination/:destination_id/force-retry":        {codes: notFound},
	"GET /api/v1/app/:app_id/destination/:destination_id/attempt":             {codes: notFound},
	"GET /api/v1/app/:app_id/destination/:destination_id/attempt/:attempt_id": {codes: notFound},
	"GET /api/v1/app/:app_id/poller/:sink_id":                                 {codes: notFound},
	"GET /api/v1/app/:app_id/poller/:sink_id/consumer/:consumer_id":           {codes: notFound},
	"POST /api/v1/app/:app_id/poller/:sink_id/consumer/:consumer_id/seek":     {body: `{"after":"2020-01-01T00:00:00Z"}`, codes: notFound},
	"GET /api/v1/app/:app_id/destination/:destination_id/transformation":      {codes: notFound},
	"PATCH /api/v1/app/:app_id/destination/:destination_id/transformation":    {body: `{"code":"function handler(i) { return i; }"}`, codes: notFound},
	"POST /api/v1/app/:app_id/destination/:destination_id/transformation/simulate": {
		body: `{"code":"function handler(i) { return i; }","eventType":"a.only","payload":{}}`, codes: notFound},
	"GET /api/v1/app/:app_id/destination/:destination_id/last-acked-event": {codes: notFound},
	"GET /api/v1/app/:app_id/destination/:destination_id/next-event":       {codes: notFound},
	"GET /api/v1/auth/app/:app_id/poller/:endpoint_id/token":               {codes: notFound},
	"POST /api/v1/auth/app/:app_id/poller/:endpoint_id/token/rotate":       {body: `{"oldTokenExpiry":0}`, codes: notFound},
}

// tenantA is what tenant A owns; B must never see any of it.
type tenantA struct {
	params  map[string]string // by id
	uids    map[string]string // by uid where the route takes one
	secrets []string          // strings that must never appear in B's answers
}

func seedTenantA(t *testing.T, env *testenv.Env) tenantA {
	ctx := context.Background()
	s := env.Store
	tid := env.TenantID
	_, err := s.CreateEventType(ctx, tid, tenants.EventTypeInput{Name: "a.only", Description: "A-secret-description"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := s.CreateApplication(ctx, tid, tenants.ApplicationInput{Name: "A-secret-app", UID: ptr("a-app")})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, tid, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/secret-hook", UID: ptr("a-ep")})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := s.EndpointSecret(ctx, tid, app.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, deliveries, err := s.CreateMessage(ctx, tid, app.ID, tenants.MessageInput{EventType: "a.only", EventID: ptr("a-evt"), Payload: []byte(`{"a":"A-secret-payload"}`)})
	if err != nil || len(deliveries) != 1 {
		t.Fatalf("seed message: %v, %v", deliveries, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	at := tenants.Attempt{ID: tenants.NewID(tenants.PrefixAttempt, now), TenantID: tid, AppID: app.ID, MsgID: m.ID,
		EndpointID: ep.ID, DeliveryID: deliveries[0], URL: ep.URL, Status: tenants.StatusFail, StatusCode: 500,
		Response: ptr("A-secret-response"), CreatedAt: now}
	if err := s.RecordAttempts(ctx, []tenants.AttemptResult{{Attempt: at, Status: tenants.StatusFail}}); err != nil {
		t.Fatal(err)
	}
	keys, err := s.FindAPIKeys(ctx, tid)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := s.CreateDestination(ctx, tid, app.ID, tenants.DestinationInput{Type: tenants.DestinationPolling, UID: ptr("a-sink"),
		BatchSize: tenants.DefaultBatchSize})
	if err != nil {
		t.Fatal(err)
	}
	// A's poller token and a FIFO destination's secret variables must
	// never reach B.
	ptok, err := s.PollerToken(ctx, tid, app.ID, sink.ID)
	if err != nil {
		t.Fatal(err)
	}
	fifo, err := s.CreateDestination(ctx, tid, app.ID, tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: "http://127.0.0.1:9/fifo",
		BatchSize: tenants.DefaultBatchSize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchDestinationTransformation(ctx, tid, app.ID, fifo.ID, tenants.TransformationPatch{
		Code: tenants.Some("function handler(i) { return i; }"), Variables: tenants.Some(map[string]string{"k": "A-secret-variable"})}); err != nil {
		t.Fatal(err)
	}
	task, err := s.RecordTask(ctx, tid, tenants.TaskEndpointRecover, tenants.TaskFinished, map[string]string{"note": "A-secret-task"})
	if err != nil {
		t.Fatal(err)
	}
	return tenantA{
		params: map[string]string{
			"app_id": app.ID, "endpoint_id": ep.ID, "msg_id": m.ID, "attempt_id": at.ID,
			"event_type_name": "a.only", "tenant_id": tid, "key_id": keys[0].ID, "task_id": task.ID,
			"destination_id": sink.ID, "sink_id": sink.ID, "consumer_id": "a-consumer",
		},
		uids: map[string]string{"app_id": "a-app", "endpoint_id": "a-ep", "msg_id": "a-evt", "destination_id": "a-sink", "sink_id": "a-sink"},
		secrets: []string{app.ID, ep.ID, m.ID, at.ID, secret, "A-secret-app", "A-secret-description",
			"A-secret-payload", "A-secret-response", "secret-hook", env.APIKey, task.ID, "A-secret-task", sink.ID,
			ptok.Token, fifo.ID, "A-secret-variable"},
	}
}

// TestTenantIsolation walks every registered route with tenant B's
// credentials (API key and JWT) against tenant A's resources, by id and by
// uid: each answer must be the expected refusal (or B's own, empty world),
// never A's data and never a 500.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	a := seedTenantA(t, env)
	_, keyB, jwtB := env.NewTenant("Tenant B")
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	routes := env.API.Engine().Routes()
	// Routes that create in B's own namespace (PUT upserts, POST creates)
	// run last, so that the others meet only A's things.
	slices.SortStableFunc(routes, func(x, y gin.RouteInfo) int {
		cx, cy := isolationTable[x.Method+" "+x.Path], isolationTable[y.Method+" "+y.Path]
		return boolInt(slices.Contains(cx.codes, 201)) - boolInt(slices.Contains(cy.codes, 201))
	})
	seen := map[string]bool{}
	for _, r := range routes {
		name := r.Method + " " + r.Path
		seen[name] = true
		tc, ok := isolationTable[name]
		if !ok {
			t.Errorf("route %s is not in isolationTable: decide what another tenant may get from it", name)
			continue
		}
		for _, cred := range []struct{ kind, token string }{{"key", keyB}, {"jwt", jwtB}} {
			for _, ids := range []map[string]string{a.params, mergeMaps(a.params, a.uids)} {
				path := fillPath(r.Path, ids)
				body := strings.ReplaceAll(tc.body, "SINCE", since)
				code, resp := call(t, env.URL, r.Method, path, cred.token, body)
				if !slices.Contains(tc.codes, code) {
					t.Errorf("%s %s as B (%s): status %d, want one of %v; body %s", r.Method, path, cred.kind, code, tc.codes, resp)
				}
				for _, s := range a.secrets {
					if strings.Contains(resp, s) {
						t.Errorf("%s %s as B (%s): the answer contains tenant A's %q", r.Method, path, cred.kind, s)
					}
				}
			}
		}
	}
	for name := range isolationTable {
		if !seen[name] {
			t.Errorf("isolationTable lists %s, which is not registered", name)
		}
	}

	// A's data is intact and still A's.
	ctx := context.Background()
	if _, err := env.Store.FindEndpoint(ctx, env.TenantID, a.params["app_id"], a.params["endpoint_id"]); err != nil {
		t.Errorf("tenant A's endpoint after B's attempts: %v", err)
	}
	if et, err := env.Store.FindEventType(ctx, env.TenantID, "a.only"); err != nil || et.Description != "A-secret-description" || et.Archived {
		t.Errorf("tenant A's event type after B's attempts: %+v, %v", et, err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func fillPath(p string, params map[string]string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = params[part[1:]]
		}
	}
	return strings.Join(parts, "/")
}

// call and decodeError are the stack's plain-HTTP helpers (testenv).
var (
	call        = testenv.Call
	decodeError = testenv.DecodeError
)
