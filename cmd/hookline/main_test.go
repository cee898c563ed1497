package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/hookline/hookline/store/storetest"
)

// envMap turns a map into a getenv function.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func testSecrets(dsn string) map[string]string {
	return map[string]string{
		"HOOKLINE_DATABASE_URL":   dsn,
		"HOOKLINE_JWT_SECRET":     "a-jwt-secret-of-at-least-32-characters!",
		"HOOKLINE_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	}
}

func TestLoadConfig_MissingSecretsAreNamed(t *testing.T) {
	_, err := loadConfig(envMap(map[string]string{}), false, &bytes.Buffer{})
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a configError", err)
	}
	for _, name := range []string{"HOOKLINE_JWT_SECRET", "HOOKLINE_ENCRYPTION_KEY"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestLoadConfig_Validates(t *testing.T) {
	env := testSecrets("postgres://x@127.0.0.1/db")
	env["HOOKLINE_ENCRYPTION_KEY"] = "c2hvcnQ="
	env["HOOKLINE_RETRY_SCHEDULE"] = "5s,soon"
	env["HOOKLINE_SIGNATURE_HEADERS"] = "all"
	env["HOOKLINE_REDIS_URL"] = "http://nope"
	_, err := loadConfig(envMap(env), false, &bytes.Buffer{})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"HOOKLINE_ENCRYPTION_KEY", "HOOKLINE_RETRY_SCHEDULE", "HOOKLINE_SIGNATURE_HEADERS", "HOOKLINE_REDIS_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestLoadConfig_DefaultsAndSchedule(t *testing.T) {
	env := testSecrets("")
	delete(env, "HOOKLINE_DATABASE_URL")
	env["HOOKLINE_RETRY_SCHEDULE"] = "1s, 2s,1m"
	cfg, err := loadConfig(envMap(env), false, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://postgres@127.0.0.1:5432/hookline?sslmode=disable" || cfg.RedisURL != "redis://127.0.0.1:6379/0" || cfg.Listen != ":8080" {
		t.Errorf("defaults = %q %q %q", cfg.DatabaseURL, cfg.RedisURL, cfg.Listen)
	}
	if len(cfg.RetrySchedule) != 3 || cfg.RetrySchedule[2].Minutes() != 1 {
		t.Errorf("retry schedule = %v", cfg.RetrySchedule)
	}
	if cfg.AllowPrivateTargets {
		t.Error("private targets allowed by default")
	}
	// The start-up line masks secrets.
	var buf bytes.Buffer
	newLogger(cfg, &buf).Info("config", "config", cfg)
	if strings.Contains(buf.String(), env["HOOKLINE_JWT_SECRET"]) || strings.Contains(buf.String(), "MDEyMzQ1") {
		t.Errorf("a secret reached the log: %s", buf.String())
	}
}

func TestLoadConfig_DevGeneratesAndKeepsSecrets(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HOOKLINE_DEV_SECRETS_FILE": filepath.Join(dir, "dev.env")}
	var warn bytes.Buffer
	cfg1, err := loadConfig(envMap(env), true, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "WARNING") || len(cfg1.EncryptionKey) != 32 || cfg1.JWTSecret == "" || cfg1.AdminToken == "" {
		t.Fatalf("dev config = %+v, warning %q", cfg1, warn.String())
	}
	warn.Reset()
	cfg2, err := loadConfig(envMap(env), true, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.JWTSecret != cfg1.JWTSecret || !bytes.Equal(cfg2.EncryptionKey, cfg1.EncryptionKey) || warn.Len() != 0 {
		t.Error("a second dev run did not reuse the stored secrets")
	}
	st, err := os.Stat(env["HOOKLINE_DEV_SECRETS_FILE"])
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode = %v, %v; want 0600", st.Mode(), err)
	}
}

func TestTenantCreate_JSON(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewDatabase(t)
	env := testSecrets(dsn)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tenant", "create", "--name", "Acme", "--json"}, envMap(env), &out, &errOut); err != nil {
		t.Fatalf("tenant create: %v\n%s", err, errOut.String())
	}
	dec := json.NewDecoder(&out)
	var got map[string]string
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v: %q", err, out.String())
	}
	if dec.More() {
		t.Error("stdout holds more than one JSON value")
	}
	if !strings.HasPrefix(got["id"], "org_") || !strings.HasPrefix(got["apiKey"], "sk_") || strings.Count(got["jwt"], ".") != 2 || len(got) != 3 {
		t.Errorf("tenant create --json = %v", got)
	}

	out.Reset()
	if err := run(ctx, []string{"jwt", "generate", got["id"]}, envMap(env), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Count(strings.TrimSpace(out.String()), ".") != 2 {
		t.Errorf("jwt generate printed %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "status"}, envMap(env), &out, &errOut); err != nil || !strings.Contains(out.String(), "applied") {
		t.Errorf("migrate status: %v\n%s", err, out.String())
	}
}

func TestRun_SchemaBehindIsRefused(t *testing.T) {
	t.Parallel()
	// A database that exists but was never migrated.
	dsn := storetest.NewEmptyDatabase(t)
	env := testSecrets(dsn)
	err := run(context.Background(), []string{"tenant", "create", "--name", "x"}, envMap(env), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "hookline migrate up") {
		t.Fatalf("err = %v, want a message naming `hookline migrate up`", err)
	}
}

func TestDev_UnreachableServicesExplained(t *testing.T) {
	for _, tc := range []struct{ name, db, redis, want string }{
		{"PostgreSQL", "postgres://postgres@127.0.0.1:1/hookline?sslmode=disable", "redis://127.0.0.1:6379/0", "cannot reach PostgreSQL"},
		{"Redis", "", "redis://127.0.0.1:1/0", "cannot reach Redis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.db == "" {
				tc.db = storetest.NewEmptyDatabase(t)
			}
			env := map[string]string{
				"HOOKLINE_DATABASE_URL": tc.db, "HOOKLINE_REDIS_URL": tc.redis,
				"HOOKLINE_DEV_SECRETS_FILE": filepath.Join(t.TempDir(), "dev.env"),
			}
			err := run(context.Background(), []string{"dev"}, envMap(env), &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil {
				t.Fatal("dev started without its services")
			}
			msg := err.Error()
			for _, want := range []string{tc.want, "docker compose up -d postgres redis", "apt-get install"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "goroutine") || strings.Contains(msg, ".go:") {
				t.Errorf("message looks like a stack trace:\n%s", msg)
			}
		})
	}
}

// TestDockerCompose keeps docker-compose.yml right without a Docker engine:
// the services exist, depend on healthy databases, and the Hookline
// services get every required variable.
func TestDockerCompose(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Command     any               `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	for _, name := range []string{"postgres", "redis", "api", "worker"} {
		s, ok := doc.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if len(s.Healthcheck.Test) == 0 {
			t.Errorf("service %s has no health check", name)
		}
	}
	for _, name := range []string{"api", "worker"} {
		s := doc.Services[name]
		for _, dep := range []string{"postgres", "redis"} {
			if s.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("%s does not wait for %s to be healthy", name, dep)
			}
		}
		for _, v := range []string{"HOOKLINE_DATABASE_URL", "HOOKLINE_REDIS_URL", "HOOKLINE_JWT_SECRET", "HOOKLINE_ENCRYPTION_KEY"} {
			if s.Environment[v] == "" {
				t.Errorf("%s lacks %s", name, v)
			}
		}
		// The configuration the compose file gives must load.
		env := map[string]string{}
		for k, v := range s.Environment {
			env[k] = os.Expand(v, func(string) string { return "" })
		}
		for k, v := range s.Environment {
			if strings.Contains(v, "${") {
				env[k] = v[strings.Index(v, ":-")+2 : strings.LastIndex(v, "}")]
			}
		}
		if _, err := loadConfig(envMap(env), false, &bytes.Buffer{}); err != nil {
			t.Errorf("%s's environment does not load: %v", name, err)
		}
	}
}
