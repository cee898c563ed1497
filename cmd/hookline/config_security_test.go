package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookline/hookline/internal/testcerts"
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

	// The proxy's CA, from a file.
	ca := filepath.Join(t.TempDir(), "proxy-ca.pem")
	if err := os.WriteFile(ca, testcerts.New(t, nil, testcerts.Options{CommonName: "proxy CA", CA: true}).CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env["HOOKLINE_EGRESS_PROXY_CA"] = ca
	if cfg, err = loadConfig(envMap(env), false, &bytes.Buffer{}); err != nil || !strings.Contains(string(cfg.EgressProxyCA), "BEGIN CERTIFICATE") {
		t.Fatalf("proxy CA: %v", err)
	}

	notPEM := filepath.Join(t.TempDir(), "nope.pem")
	_ = os.WriteFile(notPEM, []byte("nope"), 0o600)
	env["HOOKLINE_EGRESS_PROXY_CA"] = notPEM
	env["HOOKLINE_DEFAULT_SIGNATURE"] = "rsa"
	env["HOOKLINE_EGRESS_PROXY"] = "socks5://10.0.0.5:1080"
	_, err = loadConfig(envMap(env), false, &bytes.Buffer{})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"HOOKLINE_DEFAULT_SIGNATURE", "HOOKLINE_EGRESS_PROXY must", "HOOKLINE_EGRESS_PROXY_CA"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}
