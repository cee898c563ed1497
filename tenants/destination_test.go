package tenants

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestCheckRabbitMQ: a RabbitMQ destination's URI is amqp or amqps with a
// host; its query may carry only the connection parameters the AMQP
// client honours, well formed. A parameter that names a file of the
// worker's disk is refused with a message that says so, and any other
// unknown parameter with the list of the supported ones, always as an
// invalid error on body.config.uri.
func TestCheckRabbitMQ(t *testing.T) {
	ok := []string{
		"amqp://broker.example.com",
		"amqps://u:p@broker.example.com:5671/vhost",
		"AMQPS://broker.example.com/",
		"amqps://broker.example.com/?heartbeat=0",
		"amqps://broker.example.com/?heartbeat=30&channel_max=100&connection_timeout=5000",
		"amqps://93.184.216.34/?server_name_indication=broker.example.com",
		"amqps://broker.example.com/?auth_mechanism=plain&auth_mechanism=AMQPLAIN",
	}
	for _, uri := range ok {
		if err := CheckRabbitMQ(uri, "q", false); err != nil {
			t.Errorf("CheckRabbitMQ(%q) = %v; want nil", uri, err)
		}
	}
	const files = "may not name local files (certfile, keyfile, cacertfile)"
	refused := []struct{ uri, want string }{
		{"", "not a valid URI"},
		{"amqp://broker example.com/", "not a valid URI"},
		{"http://broker.example.com/", "scheme must be amqp or amqps"},
		{"amqp:///vhost", "must have a host"},
		{"amqp://broker.example.com:0/", "port must be between 1 and 65535"},
		{"amqp://broker.example.com:70000/", "port must be between 1 and 65535"},
		{"amqps://attacker.example.com/?certfile=/etc/hookline/tls.crt&keyfile=/etc/hookline/tls.key", files},
		{"amqps://attacker.example.com/?cacertfile=/etc/shadow", files},
		{"amqps://attacker.example.com/?heartbeat=10&keyfile=/etc/ssl/private/k.pem", files},
		{"amqps://attacker.example.com/?CertFile=/etc/x", files},
		{"amqps://attacker.example.com/?%63ertfile=/etc/x", files},
		{"amqp://attacker.example.com/?certfile=", files},
		{"amqps://broker.example.com/?frame_max=4096", `unsupported URI query parameter "frame_max"`},
		{"amqps://broker.example.com/?verify=verify_none", `unsupported URI query parameter "verify"`},
		{"amqps://broker.example.com/?x=1;y=2", "query is not valid"},
		{"amqps://broker.example.com/?heartbeat=-1", "heartbeat must be an integer between 0 and 65535"},
		{"amqps://broker.example.com/?heartbeat=65536", "heartbeat must be an integer between 0 and 65535"},
		{"amqps://broker.example.com/?heartbeat=1&heartbeat=2", "heartbeat is given 2 times"},
		{"amqps://broker.example.com/?channel_max=x", "channel_max must be an integer"},
		{"amqps://broker.example.com/?connection_timeout=0", "connection_timeout must be a positive number of milliseconds"},
		{"amqps://broker.example.com/?auth_mechanism=external", "auth_mechanism must be plain or amqplain"},
		{"amqps://broker.example.com/?server_name_indication=a/b", "server_name_indication must be a DNS name"},
		{"amqps://broker.example.com/?server_name_indication=" + strings.Repeat("a.", 127) + "a", "server_name_indication must be a DNS name"},
		{"amqp://127.0.0.1/", "private or reserved address"},
	}
	for _, tc := range refused {
		err := CheckRabbitMQ(tc.uri, "q", false)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeInvalid || !slices.Equal(e.Loc, []string{"body", "config", "uri"}) || !strings.Contains(e.Message, tc.want) {
			t.Errorf("CheckRabbitMQ(%q) = %#v; want an invalid error on body.config.uri saying %q", tc.uri, err, tc.want)
		}
	}
	if err := CheckRabbitMQ("amqp://127.0.0.1/?certfile=/etc/x", "q", true); err == nil || !strings.Contains(err.Error(), files) {
		t.Errorf("with private targets allowed, a certfile is still refused; got %v", err)
	}
	var e *Error
	if err := CheckRabbitMQ("amqp://broker.example.com/", "\x00", false); !errors.As(err, &e) || !slices.Equal(e.Loc, []string{"body", "config", "routingKey"}) {
		t.Errorf("a routing key with a NUL: got %v; want an invalid error on body.config.routingKey", err)
	}
}
