package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/testenv"
)

// TestDestinations_RabbitURINoLocalFiles: a RabbitMQ URI whose query names
// a file of the worker's disk (cacertfile, certfile, keyfile), or carries
// a parameter the AMQP client does not honour, is a 422 on
// body.config.uri, at creation and when the config is changed; the
// connection parameters the client honours pass.
func TestDestinations_RabbitURINoLocalFiles(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	appID := newApp(t, env, "dest-rabbit-files")
	base := "/api/v1/app/" + appID + "/destination"
	var ok destOut
	if st, body := destCall(t, env, "POST", base,
		`{"type":"rabbitMq","config":{"uri":"amqps://u:p@broker.example.com/?heartbeat=30&server_name_indication=rabbit.example.com","routingKey":"k"}}`, &ok); st != 201 {
		t.Fatalf("create with supported parameters: %d %s", st, body)
	}
	for _, tc := range []struct{ uri, want string }{
		{"amqps://u:p@attacker.example.com/?certfile=/etc/hookline/tls.crt&keyfile=/etc/hookline/tls.key", "may not name local files"},
		{"amqps://u:p@attacker.example.com/?cacertfile=/etc/passwd", "may not name local files"},
		{"amqps://u:p@broker.example.com/?verify=verify_none", `unsupported URI query parameter \"verify\"`},
	} {
		cfg := `{"uri":"` + tc.uri + `","routingKey":"k"}`
		for _, call := range []struct{ method, path, body string }{
			{"POST", base, `{"type":"rabbitMq","config":` + cfg + `}`},
			{"PATCH", base + "/" + ok.ID, `{"config":` + cfg + `}`},
		} {
			st, resp := destCall(t, env, call.method, call.path, call.body, nil)
			var e struct {
				Detail []struct {
					Loc []string `json:"loc"`
					Msg string   `json:"msg"`
				} `json:"detail"`
			}
			_ = json.Unmarshal([]byte(resp), &e)
			if st != 422 || len(e.Detail) != 1 || !slices.Equal(e.Detail[0].Loc, []string{"body", "config", "uri"}) || !strings.Contains(resp, tc.want) {
				t.Errorf("%s %s: %d %s; want 422 at body.config.uri saying %s", call.method, tc.uri, st, resp, tc.want)
			}
		}
	}
}

// TestPoller_DisabledAnswers409: a disabled polling endpoint answers its
// polls (consumer and client-held iterator) with a 409 whose code says it
// is disabled, rather than an empty page a consumer could take for having
// caught up; its consumers stay where they were, and once it is enabled
// again a consumer reads on from there.
func TestPoller_DisabledAnswers409(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	appID := newApp(t, env, "poll-disabled")
	base := "/api/v1/app/" + appID + "/destination"
	var sink destOut
	if st, body := destCall(t, env, "POST", base, `{"type":"pollingEndpoint"}`, &sink); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	consumer := "/api/v1/app/" + appID + "/poller/" + sink.ID + "/consumer/c1"
	// readUntil polls c1 until it has read n messages. A poll may answer
	// done before a just-committed message is visible (the horizon is
	// the cluster's), so it polls on until the deadline.
	readUntil := func(n int) []string {
		t.Helper()
		var got []string
		deadline := time.Now().Add(20 * time.Second)
		for len(got) < n {
			var out struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if st, body := destCall(t, env, "GET", consumer, "", &out); st != 200 {
				t.Fatalf("consumer poll: %d %s", st, body)
			}
			for _, m := range out.Data {
				got = append(got, m.ID)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the consumer read %d of %d messages before the deadline", len(got), n)
			}
		}
		return got
	}
	first := sendMessages(t, env, appID, 3, "p.d")
	if got := readUntil(3); !slices.Equal(got, first) {
		t.Fatalf("before disabling the consumer read %v; want %v", got, first)
	}
	if st, body := destCall(t, env, "PATCH", base+"/"+sink.ID, `{"status":"disabled"}`, nil); st != 200 {
		t.Fatalf("disable: %d %s", st, body)
	}
	second := sendMessages(t, env, appID, 2, "p.d")
	for _, path := range []string{consumer, "/api/v1/app/" + appID + "/poller/" + sink.ID} {
		st, body := destCall(t, env, "GET", path, "", nil)
		var e struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal([]byte(body), &e)
		if st != 409 || e.Code != "destination_disabled" || !strings.Contains(e.Detail, "disabled") {
			t.Errorf("GET %s of a disabled polling endpoint: %d %s; want 409 destination_disabled", path, st, body)
		}
	}
	if st, body := destCall(t, env, "PATCH", base+"/"+sink.ID, `{"status":"enabled"}`, nil); st != 200 {
		t.Fatalf("enable: %d %s", st, body)
	}
	if got := readUntil(2); !slices.Equal(got, second) {
		t.Errorf("after enabling again the consumer read %v; want what came after its last read, %v", got, second)
	}
}
