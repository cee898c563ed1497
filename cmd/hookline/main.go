// Command hookline runs every role of Hookline — API and portal, delivery
// workers, or both — and its operator commands (migrations, tenants,
// tokens, queues, the load tool).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// Hookline's live heap is small (ids, caches, in-flight requests), so a
	// less eager collector buys CPU for little memory. GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, ue.Error())
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const usage = `hookline — webhooks for SaaS platforms

Usage:
  hookline all                       API, portal and workers in one process
  hookline serve                     API and portal only
  hookline worker                    delivery workers and schedulers only
  hookline dev [--info]              first run: database, migrations, demo tenant, then all
                                     (--info: print its instructions again)
  hookline migrate up|down|status    manage the schema
  hookline tenant create --name NAME [--json]
  hookline console-link TENANT_ID    print a one-time link into the tenant's console
  hookline tenant revoke-tokens TENANT_ID [--at RFC3339]
                                     refuse every tenant JWT issued before now (or --at)
  hookline jwt generate [--ttl 24h] TENANT_ID
                                     print a tenant JWT (lifetime: --ttl, else HOOKLINE_JWT_TTL)
  hookline usage TENANT_ID           deliveries billed per day and this month against the cap
                                     [--since DATE] [--until DATE] [--json] [--audit]
  hookline healthcheck [URL]         exit 0 when URL (default /healthz) answers 2xx
  hookline queues [dead|requeue]     the delivery queue: counts, dead deliveries, re-queue
  hookline storage status|maintain   partitions, sizes and the next drop; or run maintenance now
  hookline bench [flags]             the load tool: throughput, latency, baselines (see BENCHMARKS.md)
  hookline version

Configuration comes from HOOKLINE_* environment variables; see README.md.`

// run is the whole program, with its environment passed in so tests can
// call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{usage}
	}
	cmd, rest := args[0], args[1:]
	if cmd == "help" && len(rest) > 0 && rest[0] != "bench" {
		return printHelp(stdout, rest[0])
	}
	if cmd == "help" && len(rest) > 0 {
		cmd, rest = "bench", []string{"--help"}
	}
	if cmd != "bench" && wantsHelp(rest) {
		if _, ok := commandHelp[cmd]; ok {
			return printHelp(stdout, cmd)
		}
	}
	switch cmd {
	case "all":
		return runRoles(ctx, getenv, stderr, roleAPI|roleWorker)
	case "serve":
		return runRoles(ctx, getenv, stderr, roleAPI)
	case "worker":
		return runRoles(ctx, getenv, stderr, roleWorker)
	case "dev":
		switch {
		case len(rest) == 1 && rest[0] == "--info":
			return runDevInfo(ctx, getenv, stdout, stderr)
		case len(rest) > 0:
			return &usageError{"usage: hookline dev [--info]"}
		}
		return runDev(ctx, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "tenant":
		return runTenant(ctx, rest, getenv, stdout, stderr)
	case "jwt":
		return runJWT(ctx, rest, getenv, stdout, stderr)
	case "console-link":
		return runConsoleLink(ctx, rest, getenv, stdout, stderr)
	case "usage":
		return runUsage(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, rest, stdout)
	case "queues":
		return runQueues(ctx, rest, getenv, stdout, stderr)
	case "storage":
		return runStorage(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "hookline", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return &usageError{fmt.Sprintf("unknown command %q\n\n%s", cmd, usage)}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
