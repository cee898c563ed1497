// The magic link is /portal/#key=<token>. This page only reads the tenant
// ("org" claim) from the token and moves on to that tenant's page, which
// the server serves with the tenant's framing policy. The claim is not
// trusted: the portal checks it against the API before it shows anything.

const key = new URLSearchParams(location.hash.slice(1)).get('key');

function tenantOf(token) {
  const part = token.split('.')[1];
  if (!part) return null;
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const claims = JSON.parse(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '=')));
  return typeof claims.org === 'string' && /^org_[0-9A-Za-z]{1,64}$/.test(claims.org) ? claims.org : null;
}

let tenant = null;
try {
  tenant = key ? tenantOf(key) : null;
} catch {
  tenant = null;
}
if (tenant) {
  location.replace(`o/${tenant}/#key=${encodeURIComponent(key)}`);
} else {
  document.getElementById('boot').classList.add('failed');
  document.getElementById('boot-message').textContent =
    'This portal link is incomplete or damaged. Ask the service that sent you here for a new link.';
}
