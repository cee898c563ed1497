// The console's entry point: sign in (an API key, or a one-time console
// link in the URL fragment), keep the short-lived session token in
// sessionStorage, and route between the pages. The components and the API
// client are the portal's (one UI kit for both), imported from
// /portal/assets/.

import { createClient } from '../../portal/assets/api.js';
import { h, fill, icon, button, field, toast, describeError } from '../../portal/assets/ui.js';
import { createRouter } from '../../portal/assets/router.js';
import { overviewPage } from './pages/overview.js';
import { appsPage, appPage } from './pages/apps.js';
import { eventTypesPage } from './pages/event_types.js';
import { messagesPage, messagePage } from './pages/messages.js';
import { keysPage } from './pages/keys.js';
import { usagePage } from './pages/usage.js';
import { brandingPage } from './pages/branding.js';
import { throttledPage } from './pages/throttled.js';

const root = document.getElementById('app');
// The page is /…/console/: the API lives one level up.
const base = new URL('../', location.href);
const storageKey = 'hookline.console.session';

const storage = (() => {
  try {
    const s = window.sessionStorage;
    s.setItem('hookline.console.probe', '1');
    s.removeItem('hookline.console.probe');
    return s;
  } catch {
    return null;
  }
})();

let memoryToken = null;
const saveToken = (t) => {
  memoryToken = t;
  if (t) storage?.setItem(storageKey, t);
  else storage?.removeItem(storageKey);
};
const loadToken = () => memoryToken || storage?.getItem(storageKey) || null;

/** screen replaces the whole console with a card. */
function screen(...children) {
  document.body.dataset.state = 'screen';
  fill(root, h('main.screen', h('div.screen-card.signin', children)));
}

// ---------- sign-in ----------

async function exchange(body) {
  const anon = createClient({ base, token: '', prefix: 'console/api/' });
  return anon.post('session', body);
}

function signInScreen(message) {
  const key = h('input', { type: 'password', id: 'signin-key', name: 'apiKey', required: true, autocomplete: 'off', placeholder: 'sk_…', spellcheck: 'false' });
  const err = h('p.error', { id: 'signin-error', role: 'alert', hidden: !message }, message || '');
  const submit = button('Sign in', { kind: 'primary', type: 'submit', id: 'signin-submit', iconName: 'lock' });
  const form = h('form', { id: 'signin-form', 'aria-label': 'Sign in' },
    field('API key', key, { hint: 'A key of your organisation. The console swaps it for a session of one hour; the key is not kept.' }),
    err, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.hidden = true;
    try {
      const s = await exchange({ apiKey: key.value.trim() });
      saveToken(s.token);
      key.value = '';
      await start();
    } catch (x) {
      err.textContent = x.status === 401 ? 'This API key is not valid (unknown or revoked).' : describeError(x);
      err.hidden = false;
      submit.disabled = false;
      key.focus();
    }
  });
  screen(
    h('div.icon-badge', icon('lock')),
    h('h1.screen-title', 'Sign in to the console'),
    h('p.screen-text', 'Run your webhooks: applications, event types, messages, API keys, usage and your customers’ portal.'),
    form,
    h('p.hint', 'No key at hand? Your platform operator can send you a one-time console link.'));
  key.focus();
}

// ---------- pages ----------

const routes = [
  [/^\/overview\/?$/, 'overview', overviewPage],
  [/^\/apps\/?$/, 'apps', appsPage],
  [/^\/apps\/([^/]+)$/, 'apps', appPage],
  [/^\/event-types\/?$/, 'event-types', eventTypesPage],
  [/^\/messages\/?$/, 'messages', messagesPage],
  [/^\/messages\/([^/]+)\/([^/]+)$/, 'messages', messagePage],
  [/^\/keys\/?$/, 'keys', keysPage],
  [/^\/usage\/?$/, 'usage', usagePage],
  [/^\/branding\/?$/, 'branding', brandingPage],
  [/^\/throttled\/?$/, 'throttled', throttledPage],
];

const tabs = [
  ['overview', 'Overview', 'info'],
  ['apps', 'Applications', 'endpoints'],
  ['event-types', 'Event types', 'book'],
  ['messages', 'Messages', 'logs'],
  ['keys', 'API keys', 'lock'],
  ['usage', 'Usage', 'meter'],
  ['branding', 'Portal branding', 'edit'],
  ['throttled', 'Throttled', 'power'],
];

let baseCtx = null;
let ended = false;
const { route, stop: stopPage } = createRouter({
  root, routes, home: '/overview', context: () => (ended ? null : baseCtx),
});

function renderShell(session) {
  const brand = h('div.brand',
    h('div.brand-mark', { 'aria-hidden': 'true' }, (session.tenantName || 'H').trim().charAt(0).toUpperCase()),
    h('div.brand-text',
      h('div.brand-name', { id: 'tenant-name' }, session.tenantName),
      h('div.brand-app', { id: 'tenant-id' }, `Console · ${session.tenantId}`)));
  const actions = h('div.topbar-actions',
    button('Sign out', { kind: 'ghost', iconName: 'logout', id: 'sign-out', small: true, onclick: signOut }));
  const nav = h('nav.tabs', { 'aria-label': 'Console sections' },
    h('div.tabs-inner', tabs.map(([key, label, ic]) => h('a.tab', { href: `#/${key}`, dataset: { tab: key } }, icon(ic), label))));
  fill(root, h('div.shell', h('header.topbar', h('div.topbar-inner', brand, actions), nav), h('main.page', { id: 'page', tabindex: '-1' })));
}

function sessionEnded() {
  if (ended) return;
  ended = true;
  saveToken(null);
  stopPage();
  baseCtx = null;
  signInScreen('Your console session has ended. Sign in again.');
}

async function signOut() {
  try {
    await baseCtx.capi.del('session');
  } catch (err) {
    if (err?.status !== 401) {
      toast('Could not sign out; try again', 'error');
      return;
    }
  }
  ended = true;
  saveToken(null);
  stopPage();
  baseCtx = null;
  signInScreen();
  document.getElementById('signin-form').dataset.signedOut = '1';
  toast('You have signed out');
}

async function start() {
  // A one-time console link: /console/#link=hlcl_…
  const link = new URLSearchParams(location.hash.slice(1)).get('link');
  if (link) {
    history.replaceState(null, '', `${location.pathname}${location.search}#/overview`);
    try {
      const s = await exchange({ link });
      saveToken(s.token);
    } catch (err) {
      signInScreen(err.status === 401 ? 'This console link is not valid any more (links work once, for 15 minutes). Sign in with an API key, or ask for a new link.' : describeError(err));
      return;
    }
  }
  const token = loadToken();
  if (!token) {
    signInScreen();
    return;
  }
  ended = false;
  const api = createClient({ base, token, onAuthLost: sessionEnded });
  const capi = createClient({ base, token, onAuthLost: sessionEnded, prefix: 'console/api/' });
  let session;
  try {
    session = await capi.get('session');
  } catch (err) {
    if (err.status === 401) return;
    screen(h('h1.screen-title', 'The console could not start'), h('p.screen-text', describeError(err)));
    return;
  }
  let catalog = null;
  baseCtx = {
    api, capi, session,
    navigate: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
    /** catalog returns the event types (archived ones too), cached until changed. */
    catalog: ({ fresh } = {}) => {
      if (fresh) catalog = null;
      catalog ||= api.get('event-type', { with_content: 'true', include_archived: 'true', limit: 250 }).then((r) => r.data).catch((e) => {
        catalog = null;
        throw e;
      });
      return catalog;
    },
  };
  document.body.dataset.state = 'ready';
  renderShell(session);
  await route();
}

window.addEventListener('hashchange', () => {
  // A console link pasted into a tab that has the console open already.
  if (new URLSearchParams(location.hash.slice(1)).has('link')) {
    stopPage();
    baseCtx = null;
    saveToken(null);
    start();
    return;
  }
  route();
});
start();
