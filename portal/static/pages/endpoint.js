// One endpoint: its signing secret (hidden until asked for), stats, setup,
// recovery of failed messages, and its attempt log.

import {
  h, icon, button, fill, loading, errorState, empty, confirm, toast, copyButton, callout,
  select, STATUS_OPTIONS, when, toLocalInput, fromLocalInput, field, revealToggle,
} from '../ui.js';
import { pagedList } from '../list.js';
import { statePill, eventsSummary } from './endpoints.js';
import { attemptRow } from './attempts.js';
import { transformationCard } from './transformation.js';
import { securityCard } from './endpoint_security.js';

const enc = encodeURIComponent;
const HIDDEN_SECRET = 'whsec_' + '•'.repeat(24);

// secretCard is the signing secret of the endpoint or destination at
// epPath (both answer …/secret and …/secret/rotate): hidden until
// revealed, copied, rotated with a grace period.
export function secretCard(ctx, epPath) {
  const card = h('section.card', { 'aria-labelledby': 'secret-title' },
    h('div.card-head', h('h2', { id: 'secret-title' }, 'Signing secret')));
  const body = h('div.card-body.stack');
  card.append(body);
  if (!ctx.can.viewSecret) {
    body.append(h('p.note', 'Your access does not include this endpoint’s signing secret.'));
    return card;
  }
  let secret = null;
  const value = h('code.secret-value', { id: 'secret-value', 'aria-live': 'polite' }, HIDDEN_SECRET);
  const fetchSecret = async () => {
    secret = (await ctx.api.get(`${epPath}/secret`)).key;
    return secret;
  };
  const snippet = h('div.stack', { id: 'secret-snippet', hidden: true });
  const reveal = revealToggle({
    id: 'secret-reveal', load: fetchSecret,
    onShown: (on) => {
      value.textContent = on ? secret : HIDDEN_SECRET;
      showVerification(snippet, on && secret);
      value.dataset.revealed = on ? '1' : '';
    },
    onError: (err) => toast(err.message || 'Could not read the secret', 'error'),
  });
  const copy = copyButton(async () => secret || fetchSecret());
  copy.id = 'secret-copy';
  const actions = [reveal.button, copy];
  if (ctx.can.rotateSecret) {
    actions.push(button('Rotate', {
      iconName: 'rotate', small: true, id: 'secret-rotate', onclick: async () => {
        const ok = await confirm({
          title: 'Rotate the signing secret?', confirmLabel: 'Rotate secret', iconName: 'rotate',
          text: [
            'A new signing secret is created now and used for every webhook from now on.',
            'The current secret keeps working for 24 hours: during that grace period each webhook is signed with both secrets, so you can deploy the new one without rejecting a single request. After 24 hours only the new secret is used.',
          ],
        });
        if (!ok) return;
        try {
          await ctx.api.post(`${epPath}/secret/rotate`, {});
          secret = null;
          if (reveal.shown()) {
            await fetchSecret();
            reveal.set(true);
          }
          toast('Secret rotated; the old one stays valid for 24 hours');
        } catch (err) {
          toast(err.message || 'Could not rotate the secret', 'error');
        }
      },
    }));
  }
  body.append(
    h('div.secret', value, ...actions),
    h('p.note', 'Use it to check the signature header of every webhook, so you only trust requests that really come from us.'),
    snippet);
  return card;
}

// showVerification explains, for an ed25519 endpoint (whose secret reads
// back as its "whpk_" public key), how to check the "v1a" signatures; an
// HMAC secret needs no more than the Standard Webhooks libraries.
function showVerification(box, key) {
  const asymmetric = typeof key === 'string' && key.startsWith('whpk_');
  box.hidden = !asymmetric;
  if (!asymmetric) {
    fill(box);
    return;
  }
  const code = [
    '// Node.js: accept a webhook only if a v1a signature verifies with this public key.',
    "const crypto = require('crypto');",
    `const raw = Buffer.from('${key.slice(5)}', 'base64');`,
    "const publicKey = crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });",
    'function verify(headers, rawBody) {',
    "  const id = headers['webhook-id'], ts = headers['webhook-timestamp'];",
    '  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false; // replayed or late',
    '  const signed = Buffer.from(`${id}.${ts}.${rawBody}`);',
    "  return headers['webhook-signature'].split(' ').some((s) => s.startsWith('v1a,') &&",
    "    crypto.verify(null, signed, publicKey, Buffer.from(s.slice(4), 'base64')));",
    '}',
  ].join('\n');
  fill(box,
    h('p.note', { id: 'secret-kind' }, 'This endpoint signs with ed25519 (signatures start with v1a,). This is its public key: it can verify webhooks but never sign one, so it need not be kept secret.'),
    h('pre.snippet', h('code', { id: 'verify-snippet' }, code)));
}

async function statsCard(ctx, epPath) {
  const body = h('div.card-body', loading());
  const card = h('section.card', { 'aria-labelledby': 'stats-title' },
    h('div.card-head', h('h2', { id: 'stats-title' }, 'Attempts'), h('span.sub', 'Last 28 days')), body);
  ctx.api.get(`${epPath}/stats`).then((s) => {
    const total = s.success + s.fail;
    const pct = total ? `${Math.round((s.success / total) * 1000) / 10}%` : '—';
    const stat = (cls, value, label) => h(`div.stat${cls}`, h('div.value', String(value)), h('div.label', label));
    fill(body, h('div.stats', { id: 'endpoint-stats' },
      stat('.ok', s.success, 'Succeeded'), stat('.fail', s.fail, 'Failed'),
      stat('', s.pending + s.sending, 'In flight'), stat('', pct, 'Success rate')));
  }).catch((err) => fill(body, errorState(err)));
  return card;
}

function detailsCard(ep, headers) {
  const names = [...Object.keys(headers.headers || {}), ...(headers.sensitive || [])].sort();
  return h('section.card', { 'aria-labelledby': 'details-title' },
    h('div.card-head', h('h2', { id: 'details-title' }, 'Setup')),
    h('div.card-body', h('dl.kv',
      h('dt', 'Endpoint ID'), h('dd', h('code', ep.id)),
      h('dt', 'Event types'), h('dd', ep.eventTypes?.length ? h('div.tags', ep.eventTypes.map((t) => h('span.tag', t))) : eventsSummary(ep)),
      h('dt', 'Channels'), h('dd', ep.channels?.length ? h('div.tags', ep.channels.map((c) => h('span.tag', c))) : 'Any'),
      h('dt', 'Rate limit'), h('dd', ep.throttleRate ? `${ep.throttleRate} per second` : 'No limit'),
      h('dt', 'Concurrency'), h('dd', { id: 'endpoint-max-concurrency' }, ep.maxConcurrency ? `At most ${ep.maxConcurrency} in flight at once` : 'Default (at most 64 in flight at once)'),
      h('dt', 'Custom headers'), h('dd', names.length
        ? h('div.tags', names.map((n) => h('span.tag', { title: headers.sensitive?.includes(n) ? 'Value hidden' : headers.headers[n] }, n)))
        : 'None'),
      h('dt', 'Created'), h('dd', when(ep.createdAt)))));
}

function recoverCard(ctx, epId, onRecovered) {
  const epPath = ctx.appPath(`endpoint/${enc(epId)}`);
  const since = h('input', { type: 'datetime-local', id: 'recover-since', name: 'since', required: true, value: toLocalInput(new Date(Date.now() - 24 * 3600e3)), max: toLocalInput(new Date()) });
  const results = h('div', { id: 'recover-results' });
  const submit = button('Recover', { kind: 'primary', type: 'submit', iconName: 'replay', id: 'recover-submit' });
  const form = h('form.card-body.stack', { id: 'recover-form' },
    h('p.note', 'Sends again every message that failed on this endpoint since a time and never succeeded, for example after your server was down. At most 14 days back.'),
    h('div.search-box', field('Failed since', since, { name: 'since' }), h('div.field', h('span.label', '\u00a0'), submit)),
    results);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const iso = fromLocalInput(since.value);
    if (!iso) return;
    submit.disabled = true;
    // Only attempts that appear from now on are this recovery's: note the
    // manual ones already there (the window allows for clock skew).
    const started = new Date(Date.now() - 5 * 60e3).toISOString();
    const attemptsPath = ctx.appPath(`attempt/endpoint/${enc(epId)}`);
    const seen = new Set();
    try {
      for (const at of (await ctx.api.get(attemptsPath, { after: started, limit: 250 })).data) seen.add(at.id);
      await ctx.api.post(`${epPath}/recover`, { since: iso });
    } catch (err) {
      submit.disabled = false;
      fill(results, callout('error', err.message || 'Recovery could not start.'));
      return;
    }
    submit.disabled = false;
    toast('Recovery started');
    const list = h('ul.list');
    fill(results, h('div.card', h('div.card-head', h('h2', 'New attempts'), h('span.live', 'Live')), list));
    let rounds = 0;
    let shown = 0;
    ctx.poll(async () => {
      const page = await ctx.api.get(attemptsPath, { after: started, limit: 250 });
      for (const at of page.data.slice().reverse()) {
        if (seen.has(at.id) || at.triggerType !== 1) continue;
        seen.add(at.id);
        shown++;
        const li = h('li', attemptRow(ctx, at));
        li.firstChild.classList.add('row-new');
        list.prepend(li);
      }
      if (!shown) fill(list, h('li', h('p.loading', h('span.spinner'), 'Waiting for the first recovered attempt… (none if nothing failed)')));
      else list.querySelector('p.loading')?.closest('li')?.remove();
      onRecovered?.();
      return ++rounds < 40; // about a minute
    }, 1500);
  });
  return h('section.card', { 'aria-labelledby': 'recover-title' },
    h('div.card-head', h('h2', { id: 'recover-title' }, 'Recover failed messages')), form);
}

export async function endpointPage(ctx, main, [id]) {
  main.dataset.page = 'endpoint';
  main.dataset.endpointId = id;
  const epPath = ctx.appPath(`endpoint/${enc(id)}`);
  main.append(loading());
  const [ep, headers] = await Promise.all([ctx.api.get(epPath), ctx.api.get(`${epPath}/headers`)]);
  if (!ctx.alive()) return;

  const head = h('div.page-head');
  const drawHead = () => {
    const actions = [];
    if (ctx.can.createAttempts) actions.push(h('a.btn', { href: `#/testing?endpoint=${enc(ep.id)}` }, icon('send'), 'Send test event'));
    if (ctx.can.manageEndpoint) {
      actions.push(h('a.btn', { href: `#/endpoints/${enc(ep.id)}/edit`, id: 'endpoint-edit' }, icon('edit'), 'Edit'));
      actions.push(button(ep.disabled ? 'Enable' : 'Disable', {
        iconName: 'power', id: 'endpoint-toggle', onclick: async () => {
          if (!ep.disabled && !(await confirm({
            title: 'Disable this endpoint?', confirmLabel: 'Disable', danger: true, iconName: 'power',
            text: 'No webhook is sent to a disabled endpoint. Messages sent meanwhile are not delivered later on their own: recover them after you enable it again.',
          }))) return;
          try {
            Object.assign(ep, await ctx.api.patch(epPath, { disabled: !ep.disabled }));
            toast(ep.disabled ? 'Endpoint disabled' : 'Endpoint enabled');
            drawHead();
          } catch (err) {
            toast(err.message || 'Could not change the endpoint', 'error');
          }
        },
      }));
      actions.push(button('Delete', {
        kind: 'danger', iconName: 'trash', id: 'endpoint-delete', onclick: async () => {
          if (!(await confirm({
            title: 'Delete this endpoint?', confirmLabel: 'Delete endpoint', danger: true, iconName: 'trash',
            text: [h('p', 'Webhooks stop going to ', h('code', ep.url), ' at once. This cannot be undone.')],
          }))) return;
          try {
            await ctx.api.del(epPath);
            toast('Endpoint deleted');
            ctx.navigate('#/endpoints');
          } catch (err) {
            toast(err.message || 'Could not delete the endpoint', 'error');
          }
        },
      }));
    }
    fill(head,
      h('div',
        h('div.tags', { id: 'endpoint-state', dataset: { state: ep.disabled ? 'disabled' : 'active' } }, statePill(ep)),
        h('h1.mono', { tabindex: '-1', id: 'endpoint-url' }, ep.url),
        h('p.lede', ep.description || 'No description')),
      h('div.page-actions', actions));
  };
  drawHead();

  const statusFilter = select(STATUS_OPTIONS, { id: 'attempts-status', label: 'Filter attempts by status' });
  const attempts = pagedList({
    label: 'Attempts',
    prevLabel: 'Newer', nextLabel: 'Older',
    fetchPage: (iterator) => ctx.api.get(ctx.appPath(`attempt/endpoint/${enc(ep.id)}`), { iterator, limit: 20, status: statusFilter.value }),
    renderItem: (at) => attemptRow(ctx, at, { onResent: () => attempts.refresh() }),
    empty: () => empty({
      iconName: 'logs', title: statusFilter.value ? 'No attempts with this status' : 'No attempts yet',
      text: 'Each time a webhook is sent to this endpoint, the attempt and the answer appear here.',
    }),
  });
  statusFilter.addEventListener('change', () => attempts.reload());

  fill(main,
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/endpoints' }, 'Endpoints'), '/', h('span', 'Endpoint')),
    head,
    h('div.stack',
      h('div.grid-2', secretCard(ctx, epPath), await statsCard(ctx, epPath)),
      detailsCard(ep, headers),
      await transformationCard(ctx, epPath),
      securityCard(ctx, epPath),
      ctx.can.createAttempts ? recoverCard(ctx, ep.id, () => attempts.refresh()) : null,
      h('section.card', { 'aria-labelledby': 'attempts-title' },
        h('div.card-head', h('div', h('h2', { id: 'attempts-title' }, 'Attempt log'), h('span.sub', 'Newest first')), statusFilter),
        attempts.el)));
  await attempts.reload();
  // Keep the first page current while the page is open.
  ctx.poll(() => attempts.refresh(), 4000, { immediate: false });
}
