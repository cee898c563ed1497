package worker

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/hookline/hookline/tenants"
)

// tokenEarly is how long before its expiry a token is no longer sent: an
// attempt must not reach the endpoint with a token that expires on the
// way.
const tokenEarly = 30 * time.Second

// tokenSource gets and caches one endpoint revision's OAuth2 access token
// for every goroutine of the process: one token request per expiry (and
// per 401), not per attempt. Safe for concurrent use.
type tokenSource struct {
	cfg  tenants.OAuthConfig
	http *http.Client
	now  func() time.Time

	mu      sync.Mutex    // held while fetching, so callers wait for one fetch
	tok     *oauth2.Token // guarded by mu; nil: none yet or invalidated
	refresh string        // guarded by mu; the refresh token, which a server may rotate
}

func newTokenSource(cfg tenants.OAuthConfig, hc *http.Client) *tokenSource {
	if len(cfg.ExtraHeaders) > 0 {
		hc = &http.Client{Transport: headerTransport{base: hc.Transport, headers: cfg.ExtraHeaders}, CheckRedirect: hc.CheckRedirect, Timeout: hc.Timeout}
	}
	return &tokenSource{cfg: cfg, http: hc, now: time.Now, refresh: cfg.RefreshToken}
}

// token returns a valid access token, fetching one if there is none or it
// is about to expire.
func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && (s.tok.Expiry.IsZero() || s.now().Add(tokenEarly).Before(s.tok.Expiry)) {
		return s.tok.AccessToken, nil
	}
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.http)
	style := oauth2.AuthStyleInHeader
	if s.cfg.AuthMethod == tenants.AuthClientSecretPost {
		style = oauth2.AuthStyleInParams
	}
	var (
		tok *oauth2.Token
		err error
	)
	if s.cfg.GrantType == tenants.GrantRefreshToken {
		c := oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Scopes: s.cfg.Scopes,
			Endpoint: oauth2.Endpoint{TokenURL: s.cfg.TokenURL, AuthStyle: style}}
		tok, err = c.TokenSource(ctx, &oauth2.Token{RefreshToken: s.refresh}).Token()
		if err == nil && tok.RefreshToken != "" {
			s.refresh = tok.RefreshToken
		}
	} else {
		params := url.Values{}
		for k, v := range s.cfg.ExtraParams {
			params.Set(k, v)
		}
		c := clientcredentials.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, TokenURL: s.cfg.TokenURL,
			Scopes: s.cfg.Scopes, EndpointParams: params, AuthStyle: style}
		tok, err = c.Token(ctx)
	}
	if err != nil {
		return "", err
	}
	s.tok = tok
	return tok.AccessToken, nil
}

// invalidate drops the cached token if it is still used: the endpoint
// refused it.
func (s *tokenSource) invalidate(used string) {
	s.mu.Lock()
	if s.tok != nil && s.tok.AccessToken == used {
		s.tok = nil
	}
	s.mu.Unlock()
}

// headerTransport adds an OAuth2 client's extra headers to its token
// requests.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	return t.base.RoundTrip(req)
}
