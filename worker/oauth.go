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

	share *sharedToken // nil: this process only

	mu      sync.Mutex    // held while fetching, so callers wait for one fetch
	tok     *oauth2.Token // guarded by mu; nil: none yet or invalidated
	refresh string        // guarded by mu; the refresh token, which a server may rotate
}

// newTokenSource returns the token source of cfg, fetching through hc and
// sharing its tokens through share (nil: not shared).
func newTokenSource(cfg tenants.OAuthConfig, hc *http.Client, share *sharedToken) *tokenSource {
	if len(cfg.ExtraHeaders) > 0 {
		hc = &http.Client{Transport: headerTransport{base: hc.Transport, headers: cfg.ExtraHeaders}, CheckRedirect: hc.CheckRedirect, Timeout: hc.Timeout}
	}
	return &tokenSource{cfg: cfg, http: hc, share: share, now: time.Now, refresh: cfg.RefreshToken}
}

// valid reports whether a token expiring at exp may still be sent.
func (s *tokenSource) valid(exp time.Time) bool {
	return exp.IsZero() || s.now().Add(tokenEarly).Before(exp)
}

// token returns a valid access token: this process's, else the one
// another process shared, else a new one (fetched by one process while
// the others wait for it).
func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.valid(s.tok.Expiry) {
		return s.tok.AccessToken, nil
	}
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	if s.share != nil {
		if tok, exp, ok := s.share.get(ctx); ok && s.valid(exp) {
			s.tok = &oauth2.Token{AccessToken: tok, Expiry: exp}
			return tok, nil
		}
		if s.share.tryLock(ctx) {
			defer s.share.unlock(context.WithoutCancel(ctx))
			// Another process may have stored its token and let the lock
			// go between the read above and this lock.
			if tok, exp, ok := s.share.get(ctx); ok && s.valid(exp) {
				s.tok = &oauth2.Token{AccessToken: tok, Expiry: exp}
				return tok, nil
			}
		} else if tok, exp, ok := s.share.wait(ctx, s.valid); ok {
			s.tok = &oauth2.Token{AccessToken: tok, Expiry: exp}
			return tok, nil
		}
		// The other process failed or went away: fetch here.
	}
	tok, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	if tok.AccessToken == "" {
		return "", errNoToken
	}
	s.tok = tok
	if s.share != nil {
		s.share.put(ctx, tok.AccessToken, tok.Expiry, s.now())
	}
	return tok.AccessToken, nil
}

// fetch asks the token URL for a new token; s.mu is held.
func (s *tokenSource) fetch(ctx context.Context) (*oauth2.Token, error) {
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
	return tok, err
}

// invalidate drops the cached token if it is still used, here and in
// Redis: the endpoint refused it.
func (s *tokenSource) invalidate(ctx context.Context, used string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == used {
		s.tok = nil
	}
	if s.share != nil {
		s.share.drop(ctx, used)
	}
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
