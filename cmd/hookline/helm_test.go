package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/store/storetest"
)

const chartDir = "../../deploy/helm/hookline"

// helmBinary finds helm on PATH or where scripts/test-env.sh installs it.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "helm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("helm is not installed: scripts/test-env.sh installs it (go install helm.sh/helm/v3/cmd/helm@v3.22.0)")
	return ""
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), errors.New(errb.String() + err.Error())
	}
	return out.String(), nil
}

// manifest is one rendered Kubernetes object, as generic YAML.
type manifest map[string]any

func (m manifest) kind() string { s, _ := m["kind"].(string); return s }
func (m manifest) name() string { return str(dig(m, "metadata", "name")) }

func dig(v any, path ...any) any {
	if m, ok := v.(manifest); ok {
		v = map[string]any(m)
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := v.(map[string]any)
			v = mm[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func renderChart(t *testing.T, args ...string) []manifest {
	t.Helper()
	out, err := helm(t, append([]string{"template", "hl", chartDir, "-f", chartDir + "/ci/test-values.yaml"}, args...)...)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	var ms []manifest
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var m map[string]any // not manifest: yaml.v3 would make nested maps manifests too
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered chart is not YAML: %v\n%s", err, out)
		}
		if m != nil {
			ms = append(ms, manifest(m))
		}
	}
	return ms
}

// configReads returns every variable loadConfig reads.
func configReads(t *testing.T) map[string]bool {
	read := map[string]bool{}
	_, _ = loadConfig(func(k string) string { read[k] = true; return "" }, false, io.Discard)
	if !read["HOOKLINE_DATABASE_URL"] || !read["HOOKLINE_DRAIN_DELAY"] {
		t.Fatal("recording getenv saw too little; loadConfig changed shape")
	}
	return read
}

// dockerfileUID is the user the image runs as: Dockerfile's USER line,
// numeric or distroless's nonroot (65532).
func dockerfileUID(t *testing.T) int {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	user := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "USER" {
			user, _, _ = strings.Cut(f[1], ":")
		}
	}
	if n, err := strconv.Atoi(user); err == nil {
		return n
	}
	if user == "nonroot" && strings.Contains(string(b), "distroless") {
		return 65532
	}
	t.Fatalf("cannot tell the Dockerfile's user (USER %q)", user)
	return 0
}

// TestHelmChart lints and renders deploy/helm/hookline and checks what the
// manifests promise against the binary: every variable they set is one
// config.go reads (and the set loads), the probes answer 2xx on a real
// serve and worker process, the pods run as the image's non-root user on a
// read-only root, and the grace period covers drain delay + shutdown.
func TestHelmChart(t *testing.T) {
	t.Parallel()
	if out, err := helm(t, "lint", "--strict", chartDir, "-f", chartDir+"/ci/test-values.yaml"); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
	ms := renderChart(t)
	byKind := map[string][]manifest{}
	for _, m := range ms {
		byKind[m.kind()] = append(byKind[m.kind()], m)
	}
	for kind, n := range map[string]int{"Deployment": 2, "PodDisruptionBudget": 2, "ConfigMap": 1, "Job": 1, "ServiceMonitor": 1, "Service": 2} {
		if len(byKind[kind]) != n {
			t.Errorf("%d %s rendered, want %d", len(byKind[kind]), kind, n)
		}
	}

	// The environment the pods get: ConfigMap + Secret (envFrom).
	env := map[string]string{}
	cm := byKind["ConfigMap"][0]
	for k, v := range dig(cm, "data").(map[string]any) {
		env[k] = str(v)
	}
	var secret manifest
	for _, s := range byKind["Secret"] {
		if s.name() == "hl-hookline" {
			secret = s
		}
	}
	if secret == nil {
		t.Fatal("no Secret hl-hookline rendered")
	}
	for k, v := range dig(secret, "stringData").(map[string]any) {
		env[k] = str(v)
	}
	reads := configReads(t)
	for k := range env {
		if !reads[k] {
			t.Errorf("the chart sets %s, which config.go does not read", k)
		}
	}
	cfg, err := loadConfig(envMap(env), false, io.Discard)
	if err != nil {
		t.Fatalf("the chart's environment does not load: %v", err)
	}
	if !cfg.DBPgBouncer || len(cfg.RedisSentinels) != 3 {
		t.Errorf("test values not applied: pgbouncer=%v sentinels=%v", cfg.DBPgBouncer, cfg.RedisSentinels)
	}
	listenPort := strings.TrimPrefix(env["HOOKLINE_LISTEN"], ":")

	uid := dockerfileUID(t)
	roles := map[string]manifest{}
	for _, d := range byKind["Deployment"] {
		pod := dig(d, "spec", "template", "spec")
		c := dig(pod, "containers", 0)
		role := str(dig(c, "args", 0))
		roles[role] = d
		t.Run(role, func(t *testing.T) {
			envs, _ := dig(c, "env").([]any)
			for _, e := range envs {
				if n := str(dig(e, "name")); !reads[n] {
					t.Errorf("container env %s is not read by config.go", n)
				}
			}
			if got := str(dig(pod, "securityContext", "runAsUser")); got != strconv.Itoa(uid) {
				t.Errorf("pod runs as %s, image's user is %d", got, uid)
			}
			sc := dig(c, "securityContext")
			for k, want := range map[string]string{"runAsNonRoot": "true", "readOnlyRootFilesystem": "true", "allowPrivilegeEscalation": "false", "runAsUser": strconv.Itoa(uid)} {
				if got := str(dig(sc, k)); got != want {
					t.Errorf("container securityContext.%s = %q, want %q", k, got, want)
				}
			}
			if dig(c, "resources", "requests") == nil || dig(c, "resources", "limits", "memory") == nil {
				t.Error("container has no resource requests or memory limit")
			}
			grace, _ := dig(pod, "terminationGracePeriodSeconds").(int)
			if need := cfg.ShutdownTimeout + cfg.DrainDelay; time.Duration(grace)*time.Second <= need {
				t.Errorf("terminationGracePeriodSeconds %d does not cover drain delay + shutdown timeout (%v)", grace, need)
			}
			// The probes' named port is the one the process listens on.
			ports := map[string]string{}
			for _, p := range dig(c, "ports").([]any) {
				ports[str(dig(p, "name"))] = str(dig(p, "containerPort"))
			}
			for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
				if got := str(dig(c, probe, "httpGet", "path")); got != path {
					t.Errorf("%s path %q, want %q", probe, got, path)
				}
				if p := str(dig(c, probe, "httpGet", "port")); ports[p] != listenPort {
					t.Errorf("%s port %q is container port %q, process listens on %q", probe, p, ports[p], listenPort)
				}
			}
			// A PodDisruptionBudget selects exactly these pods.
			labels := dig(d, "spec", "template", "metadata", "labels").(map[string]any)
			found := false
			for _, pdb := range byKind["PodDisruptionBudget"] {
				sel := dig(pdb, "spec", "selector", "matchLabels").(map[string]any)
				match := true
				for k, v := range sel {
					match = match && labels[k] == v
				}
				found = found || match
			}
			if !found {
				t.Error("no PodDisruptionBudget selects these pods")
			}
		})
	}
	if roles["serve"] == nil || roles["worker"] == nil {
		t.Fatalf("want one Deployment running serve and one running worker, got %v", roles)
	}

	job := byKind["Job"][0]
	if got := str(dig(job, "metadata", "annotations", "helm.sh/hook")); got != "pre-install,pre-upgrade" {
		t.Errorf("migration Job hook = %q", got)
	}
	jc := dig(job, "spec", "template", "spec", "containers", 0)
	if a := dig(jc, "args").([]any); len(a) != 2 || a[0] != "migrate" || a[1] != "up" {
		t.Errorf("migration Job runs %v", a)
	}
	for _, e := range dig(jc, "env").([]any) {
		if n := str(dig(e, "name")); !reads[n] {
			t.Errorf("migration Job env %s is not read by config.go", n)
		}
	}

	// The probes answer on real processes of each role, at the paths the
	// chart names.
	dsn := storetest.NewDatabase(t)
	redisURL, ns := redistest.Namespace(t)
	for role, d := range roles {
		c := dig(d, "spec", "template", "spec", "containers", 0)
		port := freePort(t)
		renv := testSecrets(dsn)
		renv["HOOKLINE_REDIS_URL"] = redisURL
		renv["HOOKLINE_QUEUE"] = ns
		renv["HOOKLINE_LISTEN"] = "127.0.0.1:" + strconv.Itoa(port)
		renv["HOOKLINE_DB_MAX_CONNS"] = "8" // not 40: other tests run beside this one
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, []string{role}, envMap(renv), io.Discard, io.Discard) }()
		for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
			u := "http://127.0.0.1:" + strconv.Itoa(port) + str(dig(c, probe, "httpGet", "path"))
			waitUntil(t, 10*time.Second, func() bool {
				resp, err := http.Get(u)
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == 200
			})
		}
		stop()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", role, err)
		}
	}
}

// TestHelmChart_RequiresSecrets: without secrets or existingSecret the
// chart refuses to render, naming the value to set; with existingSecret
// it renders no Secret of its own and points the pods at that one.
func TestHelmChart_RequiresSecrets(t *testing.T) {
	_, err := helm(t, "template", "hl", chartDir)
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_JWT_SECRET is required") {
		t.Fatalf("rendering without secrets: %v, want a message naming HOOKLINE_JWT_SECRET", err)
	}
	ms := renderChart(t, "--set", "existingSecret=mine")
	for _, m := range ms {
		if m.kind() == "Secret" {
			t.Errorf("Secret %s rendered with existingSecret", m.name())
		}
		if m.kind() == "Deployment" {
			if got := str(dig(m, "spec", "template", "spec", "containers", 0, "envFrom", 1, "secretRef", "name")); got != "mine" {
				t.Errorf("%s reads Secret %q, want mine", m.name(), got)
			}
		}
	}
}
