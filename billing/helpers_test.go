package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/billing/billingtest"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/testenv"
	"github.com/jackc/pgx/v5/pgxpool"
)

func ptr[T any](v T) *T { return &v }

// One stripe-mock serves every test of the package: it is stateless, and
// each test links its own customers.
var (
	mockOnce sync.Once
	mockURL  string
	mockStop func()
	mockErr  error
)

func stripeMock(t *testing.T) string {
	t.Helper()
	mockOnce.Do(func() { mockURL, mockStop, mockErr = billingtest.StartStripeMockMain() })
	if mockErr != nil {
		t.Fatal(mockErr)
	}
	return mockURL
}

func TestMain(m *testing.M) {
	code := m.Run()
	if mockStop != nil {
		mockStop()
	}
	os.Exit(code)
}

// clock is a settable clock, safe for concurrent use.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time)                 { c.t.Store(&t) }
func (c *clock) now() time.Time                  { return *c.t.Load() }
func (c *clock) add(d time.Duration)             { c.set(c.now().Add(d)) }
func at(s string) time.Time                      { t, _ := time.Parse(time.RFC3339Nano, s); return t }
func hour(s string) time.Time                    { return at(s).Truncate(time.Hour) }
func monthOf(t time.Time) (time.Time, time.Time) { return billing.MonthBounds(t) }

// db is a fresh database with a tenants store.
type db struct {
	t     *testing.T
	raw   *pgxpool.Pool
	store *store.Store
	msg   atomic.Int64
}

func newDB(t *testing.T) *db {
	sdb, dsn := storetest.Open(t)
	return &db{t: t, raw: storetest.SQL(t, dsn), store: store.New(sdb, storetest.TestCipher(t), nil)}
}

func (d *db) tenant(name string) string {
	d.t.Helper()
	tn, err := d.store.CreateTenant(context.Background(), name)
	if err != nil {
		d.t.Fatal(err)
	}
	return tn.ID
}

// delivery inserts one delivery row as the worker leaves it: trigger 0
// scheduled or 1 manual, status 0 success (succeeded at ok), 1 pending or
// 2 failed.
func (d *db) delivery(tenantID string, trigger, status int, ok time.Time) {
	d.t.Helper()
	n := d.msg.Add(1)
	var succeeded *time.Time
	if status == 0 {
		succeeded = &ok
	}
	_, err := d.raw.Exec(context.Background(), `INSERT INTO deliveries
		(tenant_id, app_id, msg_id, endpoint_id, trigger, status, attempts, created_at, updated_at, succeeded_at)
		VALUES ($1, 'app_x', $2, 'ep_x', $3, $4, 1, $5, $5, $6)`,
		tenantID, fmt.Sprintf("msg_%s_%d", tenantID, n), trigger, status, ok, succeeded)
	if err != nil {
		d.t.Fatal(err)
	}
}

// service builds a billing service over d with the clock c.
func (d *db) service(c *clock, o billing.Options) *billing.Service {
	d.t.Helper()
	o.Now = c.now
	s, err := billing.New(context.Background(), d.store, testenv.Logger(), o)
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

// diff returns "" when want and got are deeply equal, else both printed
// (the module does without go-cmp).
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return fmt.Sprintf("-want %+v\n+got  %+v", want, got)
}

// billingEnv is a whole stack (testenv) whose API checks quotas
// and serves billing through svc, built on the stack's store with clock c.
func billingEnv(t *testing.T, o testenv.Options, c *clock, bo billing.Options) (*testenv.Env, *billing.Service) {
	t.Helper()
	p := &billingtest.Proxy{}
	o.Quota, o.Billing = p, p
	env := testenv.New(t, o)
	bo.Now = c.now
	svc, err := billing.New(context.Background(), env.Store, env.Log, bo)
	if err != nil {
		t.Fatal(err)
	}
	p.Set(svc)
	return env, svc
}

// do sends an HTTP request to the stack and returns status and body.
func do(t *testing.T, env *testenv.Env, method, path, token string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// errorCode reads {"code": …} from an error body.
func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body is not JSON: %q", body)
	}
	return e.Code
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// createApp creates an application for the stack's tenant and returns its id.
func createApp(t *testing.T, env *testenv.Env) string {
	t.Helper()
	code, body := do(t, env, "POST", "/api/v1/app", env.APIKey, []byte(`{"name":"billing test"}`))
	if code != 201 {
		t.Fatalf("create app: %d %s", code, body)
	}
	var a struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}
