// The portal's API client: the public /api/v1, called with the app-portal
// token in the Authorization header (never a cookie, so it works inside a
// third-party iframe and is immune to CSRF).

/** ApiError carries the API's status, code and detail (and a 422's fields). */
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body?.detail;
    super(typeof detail === 'string' ? detail : `request failed with status ${status}`);
    this.status = status;
    this.code = body?.code || '';
    this.detail = detail;
    // 422: [{loc: ["body", "url"], msg}]
    this.fields = Array.isArray(detail) ? detail : [];
    if (this.fields.length) this.message = this.fields.map((d) => `${d.loc?.slice(1).join('.') || 'request'}: ${d.msg}`).join('; ');
  }
}

/**
 * createClient returns a client for the API at base (the server's root)
 * acting with token. onAuthLost runs when the token is refused (expired,
 * revoked): the portal then shows its "session ended" screen. prefix is
 * the routes' root under base: the public API by default; the console
 * also talks to its own routes under console/api/.
 */
export function createClient({ base, token, onAuthLost, prefix = 'api/v1/' }) {
  async function request(method, path, { query, body } = {}) {
    const url = new URL(`${prefix}${path}`, base);
    for (const [k, v] of Object.entries(query || {})) {
      if (v == null || v === '') continue;
      for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(item));
    }
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(url, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      throw Object.assign(new ApiError(0, { detail: 'network error' }), { cause: e });
    }
    if (res.status === 204) return null;
    let data = null;
    const text = await res.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { detail: text };
      }
    }
    if (!res.ok) {
      const err = new ApiError(res.status, data);
      if (res.status === 401 && onAuthLost) onAuthLost(err);
      throw err;
    }
    return data;
  }
  return {
    get: (path, query) => request('GET', path, { query }),
    post: (path, body = {}, query) => request('POST', path, { body, query }),
    put: (path, body) => request('PUT', path, { body }),
    patch: (path, body) => request('PATCH', path, { body }),
    del: (path) => request('DELETE', path),
  };
}
