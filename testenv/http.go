package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Call sends a request to base+path (with a bearer token and a JSON body
// when given) and returns the status and body.
func Call(t *testing.T, base, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// DecodeError reads an API error body of either contract shape (Svix's
// {code, detail} or a validation error's detail list) and returns its code
// and the first detail's location.
func DecodeError(t *testing.T, body string) (code string, loc []string) {
	t.Helper()
	var e struct {
		Code   string          `json:"code"`
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body is not JSON: %q", body)
	}
	var details []struct {
		Loc []string `json:"loc"`
	}
	if json.Unmarshal(e.Detail, &details) == nil && len(details) > 0 {
		return e.Code, details[0].Loc
	}
	return e.Code, nil
}

// curlExampleRE is the curl example the portal's and console's poller
// cards show: one header, one URL.
var curlExampleRE = regexp.MustCompile(`^curl -H '([^':]+): ([^']*)' \\\n  '(http[^']*)'$`)

// RunCurlExample makes the request a copied curl example cmd makes, on
// env's server in place of the public address publicURL, and returns its
// status and body. A command of another shape, or on another address,
// fails t.
func RunCurlExample(t *testing.T, env *Env, publicURL, cmd string) (int, string) {
	t.Helper()
	m := curlExampleRE.FindStringSubmatch(cmd)
	if m == nil {
		t.Fatalf("not the curl example: %q", cmd)
	}
	u, ok := strings.CutPrefix(m[3], publicURL)
	if !ok {
		t.Fatalf("the example's URL %q is not on the public address %s", m[3], publicURL)
	}
	req, err := http.NewRequest("GET", env.URL+u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(m[1], m[2])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}
