package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/console"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/tenants"
)

const (
	demoTenantName  = "Demo tenant"
	demoAppUID      = "demo-app"
	demoEndpointUID = "demo-receiver"
	// devAPIKeyName is where the dev secrets file keeps the demo tenant's
	// API key, so every run prints the same one.
	devAPIKeyName = "HOOKLINE_DEV_API_KEY"
)

// devDefaults are the settings `hookline dev` changes from production's:
// local receivers are the point of a dev run, and people read its logs.
func devDefaults(getenv func(string) string) func(string) string {
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		switch k {
		case "HOOKLINE_ALLOW_PRIVATE_TARGETS":
			return "true"
		case "HOOKLINE_LOG_FORMAT":
			return "text"
		}
		return ""
	}
}

// runDev prepares a first-run environment — database, schema, a demo
// tenant whose API key is kept from run to run, a demo application whose
// endpoint is the built-in demo receiver — prints how to send it a message
// and where to see it, then runs every role. The listener is bound first,
// so a busy port fails before anything is written, minted or printed.
func runDev(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	env := devDefaults(getenv)
	pre, err := loadConfig(env, false, io.Discard)
	if err != nil && !onlySecretsMissing(err) {
		return err
	}
	ln, err := net.Listen("tcp", pre.Listen)
	if err != nil {
		return listenError(pre.Listen, err)
	}
	handedOver := false
	defer func() {
		if !handedOver {
			ln.Close()
		}
	}()
	cfg, err := loadConfig(env, true, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	secretsPath := devSecretsFile(getenv)
	if err := recordDevURLs(secretsPath, cfg); err != nil {
		return err
	}
	if _, err := store.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return explainUnreachable(err, cfg, nil)
	}
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("HOOKLINE_REDIS_URL: %w", err)
	}
	rc := redis.NewClient(ropt)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = rc.Ping(pctx).Err()
	cancel()
	rc.Close()
	if err != nil {
		return explainUnreachable(nil, cfg, err)
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, 4, log)
	if err != nil {
		return explainUnreachable(err, cfg, nil)
	}
	if _, err := db.MigrateUp(ctx, log); err != nil {
		db.Close()
		return err
	}
	demo, err := ensureDemo(ctx, db, cfg, secretsPath, demoReceiverURL(ln.Addr()))
	db.Close()
	if err != nil {
		return err
	}
	app, err := newApp(ctx, cfg, log, roleAPI|roleWorker)
	if err != nil {
		return err
	}
	recv := newDemoReceiver(func(ctx context.Context) ([]string, error) {
		return app.store.LiveSecrets(ctx, demo.tenantID, demo.endpointID)
	})
	engine := app.server.Engine()
	engine.POST(demoReceiverPath, gin.WrapH(recv))
	engine.GET(demoReceiverPath, gin.WrapH(recv))
	engine.GET(demoReceiverJSONPath, gin.WrapH(recv))
	app.dev = app.newDevLanding(demo)
	app.listener = ln
	handedOver = true
	// The instructions come after start-up's log lines, so that they are
	// the last thing on the screen and stay there: request logs are at
	// debug level under dev.
	errc := make(chan error, 1)
	go func() { errc <- app.Run(ctx) }()
	<-app.ready
	if app.up.Load() {
		portalLink, err := app.dev.portalLink()
		if err != nil {
			log.Warn("no portal link for the instructions", "err", err)
		}
		consoleLink, err := app.dev.consoleLink(ctx)
		if err != nil {
			log.Warn("no console link for the instructions", "err", err)
		}
		printDevBanner(stdout, cfg, demo, portalLink, consoleLink, secretsPath)
	}
	return <-errc
}

// runDevInfo prints the instructions of `hookline dev` again, with fresh
// portal and console links, from the dev file's secrets, database and
// Redis: what a newcomer needs when the banner has scrolled away.
func runDevInfo(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, db, err := commandDB(ctx, devDefaults(getenv), stderr, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return err
	}
	addr, err := net.ResolveTCPAddr("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("HOOKLINE_LISTEN %q: %w", cfg.Listen, err)
	}
	secretsPath := devSecretsFile(getenv)
	demo, err := ensureDemo(ctx, db, cfg, secretsPath, demoReceiverURL(addr))
	if err != nil {
		return err
	}
	tok, _, err := portal.NewAppTokens(cfg.JWTSecret, nil).Mint(tenants.AppToken{TenantID: demo.tenantID, AppID: demo.appID}, 7*24*time.Hour)
	if err != nil {
		return err
	}
	link, err := console.MintLink(ctx, store.New(db, nil, nil), cfg.PublicURL, demo.tenantID, 0)
	if err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if runHealthcheck(hctx, []string{cfg.PublicURL + "/healthz"}, io.Discard) != nil {
		fmt.Fprintf(stdout, "Note: nothing answers at %s right now; start it with \"make dev\".\n", cfg.PublicURL)
	}
	printDevBanner(stdout, cfg, demo, cfg.PublicURL+"/portal/#key="+tok, link.URL, secretsPath)
	return nil
}

// listenError is one line saying why the listener could not be bound.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s: the address is already in use (is another hookline running?); stop it, or set HOOKLINE_LISTEN to another address such as :8081", addr)
	}
	return fmt.Errorf("cannot listen on %s (HOOKLINE_LISTEN): %w", addr, err)
}

// demoReceiverURL is where the demo endpoint delivers: this process's own
// listener, on loopback when it listens on every address.
func demoReceiverURL(addr net.Addr) string {
	host, port := "127.0.0.1", ""
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
		if ta.IP != nil && !ta.IP.IsUnspecified() {
			host = ta.IP.String()
		}
	} else if _, p, err := net.SplitHostPort(addr.String()); err == nil {
		port = p
	}
	return "http://" + net.JoinHostPort(host, port) + demoReceiverPath
}

// devDemo is what ensureDemo found or made.
type devDemo struct {
	tenantID, appID, endpointID string
	key                         string
	keyReused                   bool
}

// ensureDemo finds or creates the demo tenant, its application and the
// endpoint at the demo receiver (pointing it at receiverURL). The tenant's
// API key is the one kept in the dev secrets file while it still
// authenticates as the demo tenant; otherwise a new key is minted and kept
// there, so keys do not pile up from run to run.
func ensureDemo(ctx context.Context, db *store.DB, cfg Config, secretsPath, receiverURL string) (devDemo, error) {
	cipher, err := tenants.NewCipher(cfg.EncryptionKey)
	if err != nil {
		return devDemo{}, fmt.Errorf("HOOKLINE_ENCRYPTION_KEY: %w", err)
	}
	st := store.New(db, cipher, nil)
	t, err := st.FindTenantByName(ctx, demoTenantName)
	if errors.Is(err, tenants.ErrNotFound) {
		t, err = st.CreateTenant(ctx, demoTenantName)
	}
	if err != nil {
		return devDemo{}, err
	}
	d := devDemo{tenantID: t.ID}
	stored, err := readDevFile(secretsPath)
	if err != nil {
		return devDemo{}, err
	}
	if key := stored[devAPIKeyName]; tenants.LooksLikeAPIKey(key) {
		cred, err := st.FindCredentialByHash(ctx, tenants.HashAPIKey(key))
		switch {
		case err == nil && cred.TenantID == t.ID && !cred.Revoked:
			d.key, d.keyReused = key, true
		case err != nil && !errors.Is(err, tenants.ErrNotFound):
			return devDemo{}, err
		}
	}
	if d.key == "" {
		if _, d.key, err = st.CreateAPIKey(ctx, t.ID, "hookline dev"); err != nil {
			return devDemo{}, err
		}
		stored[devAPIKeyName] = d.key
		if err := writeDevFile(secretsPath, stored); err != nil {
			return devDemo{}, err
		}
	}
	uid := demoAppUID
	a, err := st.FindApplication(ctx, t.ID, uid)
	if errors.Is(err, tenants.ErrNotFound) {
		a, err = st.CreateApplication(ctx, t.ID, tenants.ApplicationInput{Name: "Demo application", UID: &uid})
	}
	if err != nil {
		return devDemo{}, err
	}
	d.appID = a.ID
	epUID := demoEndpointUID
	ep, err := st.FindEndpoint(ctx, t.ID, a.ID, epUID)
	switch {
	case errors.Is(err, tenants.ErrNotFound):
		ep, err = st.CreateEndpoint(ctx, t.ID, a.ID, tenants.EndpointInput{
			URL: receiverURL, UID: &epUID, Description: "The demo receiver built into hookline dev",
		})
	case err == nil && (ep.URL != receiverURL || ep.Disabled):
		enabled := false
		ep, err = st.PatchEndpoint(ctx, t.ID, a.ID, ep.ID, tenants.EndpointPatch{URL: &receiverURL, Disabled: &enabled})
	}
	if err != nil {
		return devDemo{}, err
	}
	d.endpointID = ep.ID
	// The event type the printed curl sends, in the catalog, so that the
	// portal's event catalog and the console's event types show it.
	if _, err := st.FindEventType(ctx, t.ID, demoEventType); errors.Is(err, tenants.ErrNotFound) {
		_, err = st.CreateEventType(ctx, t.ID, tenants.EventTypeInput{
			Name: demoEventType, Description: "An order was paid (the demo's example event)",
			Schemas: json.RawMessage(demoEventSchema),
		})
		if err != nil && !errors.Is(err, tenants.ErrConflict) {
			return devDemo{}, err
		}
	} else if err != nil {
		return devDemo{}, err
	}
	return d, nil
}

// demoEventType is the event type of the printed curl, and
// demoEventSchema its schema (version 1) in the catalog.
const (
	demoEventType   = "order.paid"
	demoEventSchema = `{"1": {"type": "object", "title": "Order paid", "required": ["id", "amount"], "properties": {"id": {"type": "string", "description": "The order's id"}, "amount": {"type": "integer", "description": "Amount paid, in cents"}}, "examples": [{"id": "ord_1", "amount": 4200}]}}`
)

// bannerRule frames the instructions, so that they stand out from the
// log lines above them.
var bannerRule = strings.Repeat("=", 78)

// printDevBanner says what runs and gives the steps of a first delivery;
// every command in it works as printed. `hookline dev --info` prints it
// again.
func printDevBanner(w io.Writer, cfg Config, d devDemo, portalLink, consoleLink, secretsPath string) {
	base := cfg.PublicURL
	keyNote := "new; kept in " + secretsPath + " for the next runs"
	if d.keyReused {
		keyNote = "the one kept in " + secretsPath
	}
	if consoleLink == "" {
		consoleLink = base + devConsolePath + "  (from this machine; mints a one-time link)"
	} else {
		consoleLink += "\n  (one use, within 15 minutes; later: " + base + devConsolePath + " or \"" + selfCommand() + " console-link " + d.tenantID + "\")"
	}
	self := selfCommand()
	fmt.Fprintf(w, `
%[12]s
Hookline is running at %[1]s (API, customer portal, tenant console, delivery workers,
demo receiver). Everything is linked from %[1]s/

  tenant:   %[2]s (%[3]s)
  api key:  %[4]s
            (%[5]s)
  app:      %[6]s, with one endpoint: the demo receiver at %[1]s%[7]s

1. Send a message:

  curl -s -X POST %[1]s/api/v1/app/%[6]s/msg \
    -H "Authorization: Bearer %[4]s" -H "Content-Type: application/json" \
    -d '{"eventType": "order.paid", "payload": {"id": "ord_1", "amount": 4200}}'

2. See it arrive, signature verified, at the demo receiver:

  %[1]s%[7]s    (as JSON: %[1]s%[8]s)

3. See its delivery in the customer portal of %[6]s, under Logs (this link is valid for 7 days):

  %[9]s

4. See your tenant's side in the tenant console:

  %[13]s

More: "%[10]s tenant create --name Acme" makes another tenant (run it from this
directory: it reads the secrets, database and Redis in %[11]s). The operator API token
(HOOKLINE_ADMIN_TOKEN) is in %[11]s. "%[10]s dev --info" prints this again.
Stop with Ctrl-C.
%[12]s

`, base, d.tenantID, demoTenantName, d.key, keyNote, demoAppUID, demoReceiverPath, demoReceiverJSONPath,
		portalLink, self, secretsPath, bannerRule, consoleLink)
	if !cfg.AllowPrivateTargets {
		fmt.Fprintf(w, "Note: HOOKLINE_ALLOW_PRIVATE_TARGETS is false, so the demo receiver (on loopback) will not get deliveries.\n\n")
	}
}

// selfCommand is how to run this binary again from the working directory:
// ./bin/hookline after `make build`, `go run ./cmd/hookline` under go run,
// hookline when that is what PATH finds.
func selfCommand() string {
	const goRun = "go run ./cmd/hookline"
	exe, err := os.Executable()
	if err != nil {
		return goRun
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return goRun
	}
	if onPath, err := exec.LookPath("hookline"); err == nil {
		if a, err := filepath.EvalSymlinks(onPath); err == nil {
			if b, err := filepath.EvalSymlinks(exe); err == nil && a == b {
				return "hookline"
			}
		}
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, exe); err == nil && !strings.HasPrefix(rel, "..") {
			return "." + string(filepath.Separator) + rel
		}
	}
	return exe
}
