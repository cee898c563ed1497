package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestLoadConfig_EndpointSecurity: HOOKLINE_DEFAULT_SIGNATURE takes hmac
// (the default) or ed25519, HOOKLINE_EGRESS_PROXY an http(s) URL; other
// values are errors naming the variable; the proxy's password never
// reaches the start-up log.
func TestLoadConfig_EndpointSecurity(t *testing.T) {
	env := testSecrets("postgres://x@127.0.0.1/db")
	cfg, err := loadConfig(envMap(env), false, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultSignature != "hmac" || cfg.EgressProxy != "" {
		t.Errorf("defaults: signature %q proxy %q", cfg.DefaultSignature, cfg.EgressProxy)
	}
	env["HOOKLINE_DEFAULT_SIGNATURE"] = "ed25519"
	env["HOOKLINE_EGRESS_PROXY"] = "http://user:hunter2@10.0.0.5:3128"
	if cfg, err = loadConfig(envMap(env), false, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultSignature != "ed25519" || cfg.EgressProxy != "http://user:hunter2@10.0.0.5:3128" {
		t.Errorf("set: signature %q proxy %q", cfg.DefaultSignature, cfg.EgressProxy)
	}
	var log bytes.Buffer
	slog.New(slog.NewTextHandler(&log, nil)).Info("config", "config", cfg)
	if strings.Contains(log.String(), "hunter2") || !strings.Contains(log.String(), "10.0.0.5:3128") {
		t.Errorf("start-up log: %s", log.String())
	}

	env["HOOKLINE_DEFAULT_SIGNATURE"] = "rsa"
	env["HOOKLINE_EGRESS_PROXY"] = "socks5://10.0.0.5:1080"
	_, err = loadConfig(envMap(env), false, &bytes.Buffer{})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"HOOKLINE_DEFAULT_SIGNATURE", "HOOKLINE_EGRESS_PROXY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}
