package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// commandHelp is each command's usage, printed on stdout (exit 0) by
// `hookline CMD --help`, `hookline CMD -h`, `hookline CMD help` and
// `hookline help CMD`. bench prints its own, from its flags.
var commandHelp = map[string]string{
	"all": `usage: hookline all

Runs the API, customer portal, tenant console and delivery workers in one process.
Configuration comes from HOOKLINE_* environment variables (see README.md, Configuration).`,
	"serve": `usage: hookline serve

Runs the API, customer portal and tenant console only; run workers with "hookline worker".`,
	"worker": `usage: hookline worker

Runs the delivery workers, the outbox sweeper and the periodic tasks only (health checks
are answered on HOOKLINE_LISTEN).`,
	"dev": `usage: hookline dev [--info]

First run on a laptop: creates the database, migrates it, makes a demo tenant, application and
endpoint at the built-in demo receiver, prints how to send a first message, then runs every role.
Missing secrets are generated into .hookline-dev.env, which also records the database and Redis
URLs used, so later one-shot commands (console-link, tenant create, …) use the same ones.

  --info   print the instructions of the running "hookline dev" again (from .hookline-dev.env) and exit`,
	"migrate": `usage: hookline migrate up|down|status

  up       apply every pending migration (and make the first storage partitions)
  down     roll back the latest migration
  status   list the migrations and whether each is applied`,
	"tenant": `usage:
  hookline tenant create --name NAME [--json]
      a tenant, its API key and a JWT; --json prints one JSON object {id, apiKey, jwt}
  hookline tenant revoke-tokens TENANT_ID [--at RFC3339]
      refuse every tenant JWT issued before now (or --at), in every API process within 10 s`,
	"jwt": `usage: hookline jwt generate [--ttl 24h] TENANT_ID

Prints a tenant JWT; its lifetime is --ttl, else HOOKLINE_JWT_TTL (30d).`,
	"console-link": `usage: hookline console-link TENANT_ID

Prints a one-time link into the tenant's console (valid once, for a few minutes).`,
	"usage": usageUsage + `

Deliveries billed per day and this month against the plan's cap.
  --since DATE   first day, YYYY-MM-DD or RFC 3339 (default: the start of this month)
  --until DATE   end of the window, exclusive (default: the end of today)
  --json         print one JSON object
  --audit        recount the window's final hours from the deliveries and list differences`,
	"healthcheck": `usage: hookline healthcheck [URL]

Exits 0 when URL (default http://127.0.0.1:8080/healthz) answers 2xx within 3 s, 1 otherwise.`,
	"queues":  queuesUsage,
	"storage": storageUsage + "\n\n  status     partitions, sizes, row estimates, the retention in force and the next drop\n             (--json: one JSON object)\n  maintain   run storage maintenance once now (workers run it every few minutes)",
	"version": "usage: hookline version\n\nPrints the version of this binary.",
}

// wantsHelp reports whether a command's arguments ask for its usage:
// help as the first word, or -h, -help or --help anywhere before "--".
func wantsHelp(args []string) bool {
	if len(args) > 0 && args[0] == "help" {
		return true
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// humanDuration prints a duration as people write one: whole days as
// days ("90d"), otherwise without Go's trailing zero units ("5m", "1h30m",
// "36h"); zero is "0".
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == 0:
		return "0"
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// printHelp writes cmd's usage to w, or reports that there is none.
func printHelp(w io.Writer, cmd string) error {
	h, ok := commandHelp[cmd]
	if !ok {
		return &usageError{fmt.Sprintf("unknown command %q\n\n%s", cmd, usage)}
	}
	fmt.Fprintln(w, h)
	return nil
}
