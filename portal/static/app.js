// The portal's entry point: take the token from the magic link, check it
// with the API, brand the page, and route between the pages.

import { createClient } from './api.js';
import { h, fill, icon, button, toast } from './ui.js';
import { createRouter } from './router.js';
import { endpointsPage } from './pages/endpoints.js';
import { endpointFormPage } from './pages/endpoint_form.js';
import { endpointPage } from './pages/endpoint.js';
import { logsPage } from './pages/logs.js';
import { messagePage } from './pages/message.js';
import { catalogPage } from './pages/catalog.js';
import { testingPage } from './pages/testing.js';
import { destinationsPage } from './pages/destinations.js';
import { destinationFormPage } from './pages/destination_form.js';
import { destinationPage } from './pages/destination.js';

const root = document.getElementById('app');
// The page is /…/portal/o/<tenant>/: the API lives three levels up.
const base = new URL('../../../', location.href);
const pathTenant = decodeURIComponent(location.pathname.split('/').filter(Boolean).at(-1) || '');
const storageKey = `hookline.portal.token.${pathTenant}`;

// sessionStorage keeps the token across reloads of this tab only; it is
// unavailable in some embedded contexts, where memory is enough.
const storage = (() => {
  try {
    const s = window.sessionStorage;
    s.setItem('hookline.portal.probe', '1');
    s.removeItem('hookline.portal.probe');
    return s;
  } catch {
    return null;
  }
})();

function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.get('key');
  if (key) {
    storage?.setItem(storageKey, key);
    // Drop the token from the address bar so it is not copied or
    // bookmarked by accident.
    history.replaceState(null, '', `${location.pathname}${location.search}#/endpoints`);
    return key;
  }
  return storage?.getItem(storageKey) || null;
}

function forgetToken() {
  storage?.removeItem(storageKey);
}

/** screen replaces the whole portal with a message. */
function screen({ iconName = 'alert', title, text, kind = 'error' }) {
  document.body.dataset.state = 'screen';
  fill(root, h('main.screen', { dataset: { screen: kind } },
    h('div.screen-card',
      h(`div.icon-badge${kind === 'error' ? '.error' : ''}`, icon(iconName)),
      h('h1.screen-title', title),
      h('p.screen-text', text))));
}

let ended = false;
function sessionEnded() {
  if (ended) return;
  ended = true;
  forgetToken();
  stopPage();
  screen({
    iconName: 'lock', title: 'Your session has ended',
    text: 'This portal link has expired or was revoked. Open the webhooks portal again from the service that sent you here.',
  });
}

// ---------- branding ----------

function inkFor(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.45 ? '#101828' : '#ffffff';
}

function applyBranding(b) {
  const html = document.documentElement;
  html.dataset.theme = ['light', 'dark', 'auto'].includes(b.theme) ? b.theme : 'auto';
  if (/^#[0-9a-fA-F]{6}$/.test(b.primaryColor || '')) {
    // CSSOM writes are allowed under the page's style-src 'self'.
    html.style.setProperty('--brand', b.primaryColor);
    html.style.setProperty('--brand-ink', inkFor(b.primaryColor));
  }
  document.title = `Webhooks · ${b.displayName}`;
}

// ---------- pages ----------

const routes = [
  [/^\/endpoints\/?$/, 'endpoints', endpointsPage],
  [/^\/endpoints\/new$/, 'endpoints', (ctx, main) => endpointFormPage(ctx, main, null)],
  [/^\/endpoints\/([^/]+)\/edit$/, 'endpoints', (ctx, main, [id]) => endpointFormPage(ctx, main, id)],
  [/^\/endpoints\/([^/]+)$/, 'endpoints', endpointPage],
  [/^\/destinations\/?$/, 'destinations', destinationsPage],
  [/^\/destinations\/new$/, 'destinations', (ctx, main) => destinationFormPage(ctx, main, null)],
  [/^\/destinations\/([^/]+)\/edit$/, 'destinations', (ctx, main, [id]) => destinationFormPage(ctx, main, id)],
  [/^\/destinations\/([^/]+)$/, 'destinations', destinationPage],
  [/^\/logs\/?$/, 'logs', logsPage],
  [/^\/logs\/([^/]+)$/, 'logs', messagePage],
  [/^\/catalog\/?$/, 'catalog', catalogPage],
  [/^\/testing\/?$/, 'testing', testingPage],
];

const tabs = [
  ['endpoints', 'Endpoints', 'endpoints'],
  ['destinations', 'Destinations', 'layers'],
  ['logs', 'Logs', 'logs'],
  ['catalog', 'Event catalog', 'book'],
  ['testing', 'Testing', 'flask'],
];

function renderShell(session) {
  const b = session.branding;
  const brand = h('div.brand',
    b.logoUrl
      ? h('img.brand-logo', { src: b.logoUrl, alt: '', referrerpolicy: 'no-referrer' })
      : h('div.brand-mark', { 'aria-hidden': 'true' }, (b.displayName || 'W').trim().charAt(0).toUpperCase()),
    h('div.brand-text',
      h('div.brand-name', { id: 'brand-name' }, b.displayName),
      h('div.brand-app', { id: 'app-name' }, `Webhooks for ${session.application.name}`)));
  const actions = h('div.topbar-actions',
    session.readOnly ? h('span.badge', { title: 'This link can look but not change anything' }, 'Read-only') : null,
    button('Sign out', { kind: 'ghost', iconName: 'logout', id: 'sign-out', small: true, onclick: signOut }));
  const nav = h('nav.tabs', { 'aria-label': 'Portal sections' },
    h('div.tabs-inner', tabs.map(([key, label, ic]) =>
      h('a.tab', { href: `#/${key}`, dataset: { tab: key } }, icon(ic), label))));
  const main = h('main.page', { id: 'page', tabindex: '-1' });
  fill(root, h('div.shell', h('header.topbar', h('div.topbar-inner', brand, actions), nav), main));
  return main;
}

let baseCtx = null;
const { route, stop: stopPage } = createRouter({
  root, routes, home: '/endpoints', context: () => (ended ? null : baseCtx),
});

async function signOut() {
  try {
    await baseCtx.api.post('auth/logout', undefined);
  } catch (err) {
    if (err?.status !== 401) {
      toast('Could not sign out; try again', 'error');
      return;
    }
  }
  ended = true;
  forgetToken();
  stopPage();
  screen({ iconName: 'check', kind: 'info', title: 'You have signed out', text: 'This portal link no longer works. Open the portal again from the service that sent you here.' });
}

async function start() {
  const token = takeToken();
  if (!token) {
    screen({ iconName: 'link', title: 'This page needs a portal link', text: 'Open the webhooks portal from the service that sent you here: it gives you a personal link.' });
    return;
  }
  const api = createClient({ base, token, onAuthLost: sessionEnded });
  let session;
  try {
    session = await api.get('auth/portal-session');
  } catch (err) {
    if (err.status === 401) return; // sessionEnded has drawn its screen
    if (err.status === 404) {
      screen({ title: 'This application no longer exists', text: 'Its webhooks settings are gone. Ask the service that sent you here for help.' });
      return;
    }
    screen({ title: 'The portal could not start', text: err.status === 0 ? 'The server could not be reached. Reload the page to try again.' : err.message });
    return;
  }
  // The page's framing policy is the one of the tenant in its path; it
  // must be the token's tenant (the API just said which).
  if (!session.application || session.tenantId !== pathTenant) {
    screen({ title: 'This link does not belong here', text: 'The portal link was opened under another organisation’s address. Open it again from the service that sent you here.' });
    return;
  }
  applyBranding(session.branding);
  const caps = new Set(session.capabilities);
  const write = !session.readOnly;
  const appId = session.application.id;
  let catalog = null;
  baseCtx = {
    api, session, appId,
    /** base is the server's root as this page reaches it. */
    base: base.href,
    app: session.application,
    /** appPath builds a path under this application. */
    appPath: (rest) => `app/${encodeURIComponent(appId)}/${rest}`,
    can: {
      manageEndpoint: write && caps.has('ManageEndpoint'),
      viewSecret: caps.has('ViewEndpointSecret') || caps.has('ManageEndpointSecret') || caps.has('ManageEndpoint'),
      rotateSecret: write && (caps.has('ManageEndpointSecret') || caps.has('ManageEndpoint')),
      createAttempts: write && caps.has('CreateAttempts'),
    },
    navigate: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
    /** catalog returns the event types with their schemas, fetched once. */
    catalog: () => {
      catalog ||= api.get('event-type', { with_content: 'true', limit: 250 }).then((r) => r.data).catch((e) => {
        catalog = null;
        throw e;
      });
      return catalog;
    },
    /** endpoints returns up to 250 endpoints, for pickers. */
    endpoints: () => api.get(`app/${encodeURIComponent(appId)}/endpoint`, { limit: 250 }).then((r) => r.data),
  };
  document.body.dataset.state = 'ready';
  renderShell(session);
  window.addEventListener('hashchange', route);
  await route();
}

start();
