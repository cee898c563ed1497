package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
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
