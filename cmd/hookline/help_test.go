package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestHelp_EveryCommand: every command and subcommand answers --help, -h
// and help with its usage on stdout and exit status 0 (a nil error from
// run), and nothing on stderr: no "flag: help requested", no exit 2.
func TestHelp_EveryCommand(t *testing.T) {
	var cases [][]string
	for cmd := range commandHelp {
		cases = append(cases, []string{cmd, "--help"}, []string{cmd, "-h"}, []string{cmd, "help"}, []string{"help", cmd})
	}
	cases = append(cases,
		[]string{"bench", "--help"}, []string{"help", "bench"},
		[]string{"tenant", "create", "--help"}, []string{"tenant", "create", "--name", "x", "-h"},
		[]string{"tenant", "revoke-tokens", "--help"},
		[]string{"jwt", "generate", "--help"}, []string{"usage", "org_x", "--help"},
		[]string{"storage", "--help"}, []string{"storage", "status", "--help"}, []string{"storage", "maintain", "-h"},
		[]string{"queues", "dead", "--help"}, []string{"queues", "requeue", "--help"},
		[]string{"migrate", "up", "--help"}, []string{"console-link", "--help"},
		[]string{"help"}, []string{"--help"}, []string{"-h"},
	)
	for _, args := range cases {
		var out, errOut bytes.Buffer
		// No database or Redis is configured: help must not need them.
		env := envMap(map[string]string{"HOOKLINE_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"})
		err := run(context.Background(), args, env, &out, &errOut)
		if err != nil {
			t.Errorf("%q: %v (want usage and exit 0)", args, err)
			continue
		}
		if !strings.HasPrefix(strings.ToLower(out.String()), "usage") && !strings.HasPrefix(out.String(), "hookline —") {
			t.Errorf("%q: stdout does not start with its usage:\n%s", args, out.String())
		}
		if errOut.Len() != 0 {
			t.Errorf("%q: stderr = %q, want nothing", args, errOut.String())
		}
	}
	// The usage names the command's own words, not only the top level's.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"storage", "--help"}, envMap(nil), &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "maintain") {
		t.Errorf("storage --help = %v:\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"bench", "--help"}, envMap(nil), &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "-messages") {
		t.Errorf("bench --help lists no flags (%v):\n%s", err, out.String())
	}
	// Misuse is still exit 2.
	err := run(context.Background(), []string{"storage", "frobnicate"}, envMap(nil), &bytes.Buffer{}, &bytes.Buffer{})
	if _, ok := err.(*usageError); !ok {
		t.Errorf("storage frobnicate = %v, want a usage error", err)
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{90 * 24 * time.Hour, "90d"},
		{24 * time.Hour, "1d"},
		{36 * time.Hour, "36h"},
		{5 * time.Minute, "5m"},
		{90 * time.Minute, "1h30m"},
		{2 * time.Hour, "2h"},
		{90 * time.Second, "1m30s"},
		{15 * time.Second, "15s"},
		{1500 * time.Millisecond, "1.5s"},
	} {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestOneShot_FollowsDevFile: the one-shot commands run after `hookline
// dev` use the database, Redis and public URL it recorded, not the
// defaults, and say so once; a recorded database that does not exist is
// named as such, without advice to install PostgreSQL.
func TestOneShot_FollowsDevFile(t *testing.T) {
	dsn := storetest.NewDatabase(t)
	redisURL, ns := redistest.Namespace(t)
	dir := t.TempDir()
	t.Chdir(dir)
	dev, err := loadConfig(envMap(map[string]string{
		"HOOKLINE_DATABASE_URL": dsn, "HOOKLINE_REDIS_URL": redisURL, "HOOKLINE_QUEUE": ns,
		"HOOKLINE_LISTEN": "127.0.0.1:18999",
	}), true, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if err := recordDevURLs(".hookline-dev.env", dev); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out, errOut bytes.Buffer
	// Nothing set: everything comes from the file.
	if err := run(ctx, []string{"tenant", "create", "--name", "Acme", "--json"}, envMap(nil), &out, &errOut); err != nil {
		t.Fatalf("tenant create after dev: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "the database and Redis it used") || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("stderr = %q, want one line naming the recorded database and Redis", errOut.String())
	}
	id := bannerField(t, out.String(), `"id":"(org_[^"]+)"`)
	out.Reset()
	errOut.Reset()
	if err := run(ctx, []string{"console-link", id}, envMap(nil), &out, &errOut); err != nil {
		t.Fatalf("console-link after dev: %v\n%s", err, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "http://127.0.0.1:18999/console/#link=") {
		t.Errorf("console-link printed %q, want a link at the recorded public URL", out.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("the notice was repeated: %q", errOut.String())
	}
	errOut.Reset()
	if err := run(ctx, []string{"storage", "status"}, envMap(nil), &out, &errOut); err != nil {
		t.Fatalf("storage status: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "slices of 1d, made 3d ahead") || !strings.Contains(out.String(), "retention in force: 90d") {
		t.Errorf("storage status does not print durations as people write them:\n%s", out.String())
	}

	// The recorded database is gone: the error says that, and no more.
	stored, err := readDevFile(".hookline-dev.env")
	if err != nil {
		t.Fatal(err)
	}
	stored["HOOKLINE_DATABASE_URL"] = strings.Replace(dsn, filepath.Base(strings.Split(dsn, "?")[0]), "hookline_no_such_db", 1)
	if err := writeDevFile(".hookline-dev.env", stored); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"console-link", id}, envMap(nil), &out, &errOut)
	if err == nil {
		t.Fatal("console-link ran against a database that does not exist")
	}
	msg := err.Error()
	if !strings.Contains(msg, `database "hookline_no_such_db" does not exist`) || !strings.Contains(msg, "HOOKLINE_DATABASE_URL") {
		t.Errorf("the error does not name the missing database:\n%s", msg)
	}
	if strings.Contains(msg, "apt-get") || strings.Contains(msg, "docker") {
		t.Errorf("the error advises installing PostgreSQL, which answers:\n%s", msg)
	}
	if _, err := os.Stat(".hookline-dev.env"); err != nil {
		t.Fatal(err)
	}
}

// TestExplainUnreachable_SaysWhatFailed: each way PostgreSQL can turn a
// command away gets its own explanation, and only the one about nothing
// listening advises installing or starting PostgreSQL.
func TestExplainUnreachable_SaysWhatFailed(t *testing.T) {
	cfg := Config{DatabaseURL: "postgres://postgres@127.0.0.1:5432/hookline", RedisURL: "redis://127.0.0.1:6379/0"}
	unavailable := func(err error) error { return fmt.Errorf("%w: %w", tenants.ErrUnavailable, err) }
	for _, tc := range []struct {
		name          string
		db, redis     error
		want, notWant string
	}{
		{"MissingDatabase", unavailable(&pgconn.PgError{Code: "3D000", Message: `database "hookline" does not exist`}), nil,
			`answers, but database "hookline" does not exist`, "apt-get"},
		{"Password", unavailable(&pgconn.PgError{Code: "28P01", Message: `password authentication failed for user "postgres"`}), nil,
			"scram-sha-256", "apt-get"},
		{"NoSuchRole", unavailable(&pgconn.PgError{Code: "28000", Message: `role "nobody" does not exist`}), nil,
			"check the user in HOOKLINE_DATABASE_URL", "apt-get"},
		{"NothingListening", unavailable(errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")), nil,
			"cannot reach PostgreSQL", "scram"},
		{"RedisPassword", nil, errors.New("NOAUTH Authentication required."), "HOOKLINE_REDIS_PASSWORD", "apt-get"},
		{"RedisDown", nil, errors.New("dial tcp 127.0.0.1:6379: connect: connection refused"), "cannot reach Redis", "NOAUTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := explainUnreachable(tc.db, cfg, tc.redis).Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, tc.notWant) {
				t.Errorf("message wants %q, not %q:\n%s", tc.want, tc.notWant, msg)
			}
		})
	}
}
