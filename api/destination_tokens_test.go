package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/testenv"
)

// The API finds these on its store by assertion: the one store must keep
// having them, or the routes answer 500 and poller tokens 401.
var (
	_ api.DestinationStore  = (*store.Store)(nil)
	_ api.PollerTokenFinder = (*store.Store)(nil)
)

type apiToken struct {
	Token     string  `json:"token"`
	ID        string  `json:"id"`
	ExpiresAt *string `json:"expiresAt"`
}

// TestPollerToken: a poller token reads its polling endpoint through the
// SDK's poller (by id and by uid) and nothing else — not another sink,
// not the application's other routes; GET shows the same token until a
// rotation, which ends the old one after its grace (0: at once).
func TestPollerToken(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	appID := newApp(t, env, "poller-token-app")
	var sink, other destOut
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"pollingEndpoint","uid":"my-sink"}`, &sink); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"pollingEndpoint"}`, &other); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	sendMessages(t, env, appID, 3, "tok.event")

	tokenPath := "/api/v1/auth/app/" + appID + "/poller/" + sink.ID + "/token"
	var tok, again apiToken
	if st, body := destCall(t, env, "GET", tokenPath, "", &tok); st != 200 || !strings.HasPrefix(tok.Token, "hlpt_") || tok.ExpiresAt != nil {
		t.Fatalf("get token: %d %s", st, body)
	}
	if st, body := destCall(t, env, "GET", "/api/v1/auth/app/"+appID+"/poller/my-sink/token", "", &again); st != 200 || again.Token != tok.Token {
		t.Fatalf("get token again (by uid): %d %s; want the same token", st, body)
	}
	var row []byte
	if err := env.SQL.QueryRow(ctx, `SELECT sealed_token FROM poller_tokens WHERE id = $1`, tok.ID).Scan(&row); err != nil || bytes.Contains(row, []byte(tok.Token)) {
		t.Fatalf("the token must be stored sealed: %v", err)
	}

	p := env.SDK(tok.Token)
	// The poller reads its sink until it has the three messages (a poll
	// may be done before every commit is visible to it: the horizon is
	// the cluster's, and other tests' transactions hold it back).
	n := 0
	var iter *string
	for deadline := time.Now().Add(20 * time.Second); n < 3 && time.Now().Before(deadline); {
		out, err := p.Message.Poller.Poll(ctx, appID, sink.ID, &svix.MessagePollerPollOptions{Iterator: iter})
		if err != nil {
			t.Fatalf("poll with the poller token: %v", err)
		}
		n += len(out.Data)
		iter = &out.Iterator
		if len(out.Data) == 0 {
			time.Sleep(10 * time.Millisecond) // between polls, as a poller does
		}
	}
	if n != 3 {
		t.Fatalf("the poller read %d messages; want 3", n)
	}
	if _, err := p.Message.Poller.Poll(ctx, appID, "my-sink", nil); err != nil {
		t.Fatalf("poll by uid with the poller token: %v", err)
	}
	if _, err := p.Message.Poller.ConsumerPoll(ctx, appID, sink.ID, "c1", nil); err != nil {
		t.Fatalf("consumer poll with the poller token: %v", err)
	}
	if _, err := p.Message.Poller.Poll(ctx, appID, other.ID, nil); sdkStatus(err) != 404 {
		t.Fatalf("poll another sink with the poller token: %v; want 404", err)
	}
	if _, err := p.Application.Get(ctx, appID); sdkStatus(err) != 403 {
		t.Fatalf("get the application with the poller token: %v; want 403", err)
	}
	if _, err := p.Message.List(ctx, appID, nil); sdkStatus(err) != 403 {
		t.Fatalf("list messages with the poller token: %v; want 403", err)
	}
	if _, err := p.Message.Create(ctx, appID, models.MessageIn{EventType: "tok.event", Payload: map[string]any{}}, nil); sdkStatus(err) != 403 {
		t.Fatalf("create a message with the poller token: %v; want 403", err)
	}
	if code, body := call(t, env.URL, "GET", tokenPath, tok.Token, ""); code != 403 {
		t.Fatalf("a poller token reading its own token route: %d %s; want 403", code, body)
	}

	// A rotation with the default grace: both work for now.
	var second apiToken
	if st, body := destCall(t, env, "POST", tokenPath+"/rotate", `{}`, &second); st != 201 || second.Token == tok.Token {
		t.Fatalf("rotate: %d %s", st, body)
	}
	if _, err := p.Message.Poller.Poll(ctx, appID, sink.ID, nil); err != nil {
		t.Fatalf("the old token within its grace: %v", err)
	}
	if st, body := destCall(t, env, "GET", tokenPath, "", &again); st != 200 || again.Token != second.Token {
		t.Fatalf("get token after rotation: %d %s; want the new one", st, body)
	}
	// A rotation without grace ends the older ones at once.
	var third apiToken
	if st, body := destCall(t, env, "POST", tokenPath+"/rotate", `{"oldTokenExpiry":0,"expiry":3600}`, &third); st != 201 || third.ExpiresAt == nil {
		t.Fatalf("rotate without grace: %d %s", st, body)
	}
	for _, old := range []string{tok.Token, second.Token} {
		if _, err := env.SDK(old).Message.Poller.Poll(ctx, appID, sink.ID, nil); sdkStatus(err) != 401 {
			t.Fatalf("a rotated-out token: %v; want 401", err)
		}
	}
	if _, err := env.SDK(third.Token).Message.Poller.Poll(ctx, appID, sink.ID, nil); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	for _, body := range []string{`{"oldTokenExpiry":86401}`, `{"expiry":0}`, `{"oldTokenExpiry":"x"}`} {
		if st, resp := destCall(t, env, "POST", tokenPath+"/rotate", body, nil); st != 422 {
			t.Errorf("rotate %s: %d %s; want 422", body, st, resp)
		}
	}
	var fifo destOut
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"fifoEndpoint","config":{"url":"http://127.0.0.1:9/fifo"}}`, &fifo); st != 201 {
		t.Fatalf("create fifo: %d %s", st, body)
	}
	if st, body := destCall(t, env, "GET", "/api/v1/auth/app/"+appID+"/poller/"+fifo.ID+"/token", "", nil); st != 404 {
		t.Fatalf("a token for a FIFO endpoint: %d %s; want 404", st, body)
	}
}

// TestDestinationTransformation_API: GET shows no transformation, then
// the code with its variables masked (and sealed at rest); setting code
// enables it; a polling endpoint has none; bad code is a 422; simulate
// runs a batch of one as the sender would, with the stored variables
// masked in what it shows.
func TestDestinationTransformation_API(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	appID := newApp(t, env, "dest-tf-app")
	var fifo, rabbit, polling destOut
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"fifoEndpoint","config":{"url":"http://127.0.0.1:9/fifo"}}`, &fifo); st != 201 {
		t.Fatalf("create fifo: %d %s", st, body)
	}
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"rabbitMq","config":{"uri":"amqp://u:p@127.0.0.1:9/","routingKey":"k"}}`, &rabbit); st != 201 {
		t.Fatalf("create rabbit: %d %s", st, body)
	}
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"pollingEndpoint"}`, &polling); st != 201 {
		t.Fatalf("create polling: %d %s", st, body)
	}
	base := "/api/v1/app/" + appID + "/destination/"
	type tfOut struct {
		Code      *string           `json:"code"`
		Enabled   bool              `json:"enabled"`
		Variables map[string]string `json:"variables"`
	}
	var got tfOut
	if st, body := destCall(t, env, "GET", base+fifo.ID+"/transformation", "", &got); st != 200 || got.Code != nil || got.Enabled {
		t.Fatalf("get before: %d %s", st, body)
	}
	code := `function handler(input) { return {payload: {n: input.events.length, k: input.variables.k, url: input.url}, headers: {"X-K": input.variables.k}}; }`
	if st, body := destCall(t, env, "PATCH", base+fifo.ID+"/transformation", toJSONString(map[string]any{"code": code, "variables": map[string]string{"k": "very-secret-value"}}), nil); st != 200 || strings.TrimSpace(body) != "{}" {
		t.Fatalf("patch: %d %s", st, body)
	}
	if st, body := destCall(t, env, "GET", base+fifo.ID+"/transformation", "", &got); st != 200 || got.Code == nil || *got.Code != code || !got.Enabled ||
		got.Variables["k"] != "********" || strings.Contains(body, "very-secret-value") {
		t.Fatalf("get after: %d %s", st, body)
	}
	var sealed []byte
	if err := env.SQL.QueryRow(ctx, `SELECT sealed_variables FROM destination_transformations WHERE destination_id = $1`, fifo.ID).Scan(&sealed); err != nil ||
		bytes.Contains(sealed, []byte("very-secret-value")) {
		t.Fatalf("variables must be sealed at rest: %v", err)
	}
	if st, body := destCall(t, env, "PATCH", base+polling.ID+"/transformation", `{"code":"function handler(i) { return i; }"}`, nil); st != 422 {
		t.Fatalf("patch a polling endpoint: %d %s; want 422", st, body)
	}
	if st, body := destCall(t, env, "PATCH", base+fifo.ID+"/transformation", `{"code":"function nope( {"}`, nil); st != 422 || !strings.Contains(body, "transformation_error") {
		t.Fatalf("patch bad code: %d %s; want 422", st, body)
	}

	var sim struct {
		URL      string            `json:"url"`
		Payload  string            `json:"payload"`
		Method   string            `json:"method"`
		Cancel   bool              `json:"cancel"`
		Headers  map[string]string `json:"headers"`
		Payloads []string          `json:"payloads"`
	}
	simBody := toJSONString(map[string]any{"code": code, "eventType": "a.b", "payload": map[string]any{"x": 1}})
	if st, body := destCall(t, env, "POST", base+fifo.ID+"/transformation/simulate", simBody, &sim); st != 200 ||
		sim.Payload != `{"n":1,"k":"********","url":"http://127.0.0.1:9/fifo"}` || sim.Headers["X-K"] != "********" || sim.Method != "POST" {
		t.Fatalf("simulate fifo: %d %s", st, body)
	}
	rabbitCode := `function handler(input) { return {payloads: input.events.map(function (e) { return JSON.stringify(e.payload); })}; }`
	if st, body := destCall(t, env, "POST", base+rabbit.ID+"/transformation/simulate",
		toJSONString(map[string]any{"code": rabbitCode, "eventType": "a.b", "payload": map[string]any{"x": 1}}), &sim); st != 200 || len(sim.Payloads) != 1 || sim.Payloads[0] != `{"x":1}` {
		t.Fatalf("simulate rabbit: %d %s", st, body)
	}
	if st, body := destCall(t, env, "POST", base+rabbit.ID+"/transformation/simulate",
		toJSONString(map[string]any{"code": `function handler(input) { return {nothing: 1}; }`, "eventType": "a.b", "payload": map[string]any{}}), nil); st != 422 || !strings.Contains(body, "payloads") {
		t.Fatalf("simulate rabbit without payloads: %d %s; want 422", st, body)
	}
	if st, body := destCall(t, env, "GET", base+polling.ID+"/last-acked-event", "", nil); st != 404 || !strings.Contains(body, "polling endpoint") {
		t.Fatalf("last-acked-event of a polling endpoint: %d %s; want 404 saying why", st, body)
	}
}

func toJSONString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
