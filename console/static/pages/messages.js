// Messages and attempts across applications: search by message id or
// eventId, application, event type, tag, status and time; a message's
// page shows its payload, where it went (with resend), and its attempts
// with the receivers' answers (the portal's attempt rows and dialog).

import { h, fill, button, field, select, loading, empty, errorState, when, destinationPill, jsonBlock, copyButton, toast, deliveryStates, toLocalInput, fromLocalInput, describeError } from '../../../portal/assets/ui.js';
import { pagedList } from '../../../portal/assets/list.js';
import { attemptRow } from '../../../portal/assets/pages/attempts.js';

const enc = encodeURIComponent;
const KEYS = ['q', 'app', 'event_type', 'tag', 'status', 'after', 'before'];

function hashFor(f) {
  const q = new URLSearchParams();
  for (const k of KEYS) if (f[k]) q.set(k, f[k]);
  const s = q.toString();
  return `#/messages${s ? '?' + s : ''}`;
}

export function messageRow(m) {
  return h('a.row.cmsg-row', { href: `#/messages/${enc(m.appId)}/${enc(m.id)}`, dataset: { msgId: m.id, appId: m.appId } },
    h('span', h('span.tag', { title: m.eventType }, m.eventType)),
    h('span.cell-stack', h('span.primary-text.mono', m.id), h('span.secondary-text', m.eventId ? `eventId ${m.eventId}` : 'no eventId')),
    h('span.secondary-text', m.appName || m.appId),
    h('span.secondary-text', when(m.timestamp)),
    deliveryStates(m.endpoints, (id) => id),
    h('span.chev', '›'));
}

export async function messagesPage(ctx, main, _params, query) {
  main.dataset.page = 'messages';
  const f = Object.fromEntries(KEYS.map((k) => [k, query.get(k) || '']));
  main.append(h('div.page-head', h('div', h('h1', { tabindex: '-1' }, 'Messages'),
    h('p.lede', 'Every message you sent, across all applications, newest first, with where it stands at each endpoint.'))));
  const body = h('div.stack', loading());
  main.append(body);
  let apps = [];
  let catalog = [];
  try {
    [apps, catalog] = await Promise.all([ctx.api.get('app', { limit: 250 }).then((r) => r.data), ctx.catalog().catch(() => [])]);
  } catch (err) {
    if (err.status === 401) return;
    fill(body, h('div.card', errorState(err, () => ctx.navigate(location.hash))));
    return;
  }
  if (!ctx.alive()) return;

  const q = h('input', { type: 'search', id: 'msg-search', value: f.q, placeholder: 'msg_… or an eventId', autocomplete: 'off' });
  const appSel = select([['', 'All applications'], ...apps.map((a) => [a.id, a.name])], { id: 'msg-app', value: f.app });
  const typeSel = select([['', 'All event types'], ...catalog.map((t) => [t.name, t.name])], { id: 'msg-type', value: f.event_type });
  const tag = h('input', { type: 'text', id: 'msg-tag', value: f.tag, placeholder: 'a tag', autocomplete: 'off' });
  const status = select([['', 'Any status'], ['failed', 'Failed'], ['succeeded', 'Succeeded'], ['pending', 'Pending'], ['sending', 'Sending'], ['canceled', 'Canceled']], { id: 'msg-status', value: f.status });
  const after = h('input', { type: 'datetime-local', id: 'msg-after', value: f.after ? toLocalInput(new Date(f.after)) : '' });
  const before = h('input', { type: 'datetime-local', id: 'msg-before', value: f.before ? toLocalInput(new Date(f.before)) : '' });
  const form = h('form.card.card-body.filters', { id: 'msg-filters', 'aria-label': 'Search messages' },
    field('Message id or eventId', q), field('Application', appSel), field('Event type', typeSel), field('Tag', tag),
    field('Status', status, { hint: 'At one endpoint at least' }), field('From', after), field('To', before),
    h('div.actions', button('Search', { kind: 'primary', type: 'submit', id: 'msg-apply', iconName: 'search' }), h('a.btn', { href: '#/messages' }, 'Reset')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(hashFor({ q: q.value.trim(), app: appSel.value, event_type: typeSel.value, tag: tag.value.trim(), status: status.value, after: fromLocalInput(after.value), before: fromLocalInput(before.value) }));
  });
  const filtered = KEYS.some((k) => f[k]);
  const list = pagedList({
    label: 'Messages', prevLabel: 'Newer', nextLabel: 'Older',
    fetchPage: (iterator) => ctx.capi.get('messages', { ...f, iterator }),
    renderItem: messageRow,
    empty: () => empty({ iconName: filtered ? 'search' : 'logs', title: filtered ? 'No message matches' : 'No messages yet', text: filtered ? 'Change or reset the search.' : 'Messages you send through the API appear here.' }),
  });
  fill(body, form, h('section.card', { 'aria-label': 'Results', id: 'msg-results' }, h('div.card-head', h('h2', 'Results'), h('span.live', 'Updates live')), list.el));
  await list.reload();
  if (!f.before) ctx.poll(() => list.refresh(), 4000, { immediate: false });
}

export async function messagePage(ctx, main, [appId, id]) {
  main.dataset.page = 'message';
  main.dataset.msgId = id;
  main.append(loading());
  const appPath = (rest) => `app/${enc(appId)}/${rest}`;
  const [msg, app] = await Promise.all([ctx.api.get(appPath(`msg/${enc(id)}`), { with_content: 'true' }), ctx.api.get(`app/${enc(appId)}`)]);
  if (!ctx.alive()) return;
  // The portal's attempt rows and dialog, acting as the tenant.
  const actx = { ...ctx, appPath, can: { createAttempts: true } };
  const dests = h('ul.list', { id: 'destinations', 'aria-label': 'Endpoints' }, h('li', loading()));
  const atts = h('ul.list', { id: 'message-attempts', 'aria-label': 'Attempts' }, h('li', loading()));

  async function resend(d, btn) {
    btn.disabled = true;
    try {
      await ctx.api.post(appPath(`msg/${enc(msg.id)}/endpoint/${enc(d.id)}/resend`));
      toast('Message resent; the new attempt appears below');
      await draw();
    } catch (err) {
      toast(describeError(err), 'error');
    } finally {
      btn.disabled = false;
    }
  }
  async function draw() {
    const [ds, as] = await Promise.all([ctx.api.get(appPath(`msg/${enc(msg.id)}/endpoint`), { limit: 50 }), ctx.api.get(appPath(`attempt/msg/${enc(msg.id)}`), { limit: 50 })]);
    if (!ctx.alive()) return;
    fill(dests, ds.data.length ? ds.data.map((d) => h('li', h('div.row.dest-row', { dataset: { endpointId: d.id } },
      h('span.cell-stack', h('span.primary-text.mono', d.url), h('span.secondary-text', d.nextAttempt ? h('span', 'Next try ', when(d.nextAttempt)) : d.description || d.id)),
      destinationPill(d),
      button('Resend', { small: true, iconName: 'replay', dataset: { resendEndpoint: d.id }, title: `Resend to ${d.url}`, onclick: (e) => resend(d, e.currentTarget) }))))
      : h('li', empty({ iconName: 'endpoints', title: 'Sent to no endpoint', text: 'No endpoint of this application listened to this event type when it was sent.' })));
    fill(atts, as.data.length ? as.data.map((at) => h('li', attemptRow(actx, at, { onResent: draw, show: 'endpoint' })))
      : h('li', h('p.loading', 'No attempt yet; they appear here as they happen.')));
  }

  fill(main,
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/messages' }, 'Messages'), '/', h('a', { href: `#/apps/${enc(appId)}` }, app.name), '/', h('span', 'Message')),
    h('div.page-head',
      h('div', h('h1', { tabindex: '-1' }, msg.eventType),
        h('p.lede', h('code', { id: 'message-id' }, msg.id), msg.eventId ? [' · eventId ', h('code', msg.eventId)] : null, ' · ', when(msg.timestamp),
          msg.tags?.length ? [' · tags ', msg.tags.join(', ')] : null)),
      h('div.page-actions', copyButton(() => msg.id, 'Copy id'))),
    h('div.stack',
      h('div.grid-2',
        h('section.card', { 'aria-labelledby': 'payload-title' },
          h('div.card-head', h('h2', { id: 'payload-title' }, 'Payload'), copyButton(() => JSON.stringify(msg.payload, null, 2))),
          h('div.card-body', { id: 'message-payload' }, msg.payload?.expired ? h('p.note', 'The payload has expired.') : jsonBlock(msg.payload, { label: 'Payload' }))),
        h('section.card', { 'aria-labelledby': 'dest-title' }, h('div.card-head', h('h2', { id: 'dest-title' }, 'Endpoints'), h('span.sub', 'Latest status per endpoint')), dests)),
      h('section.card', { 'aria-labelledby': 'att-title' }, h('div.card-head', h('h2', { id: 'att-title' }, 'Attempts'), h('span.live', 'Updates live')), atts)));
  await draw();
  ctx.poll(draw, 3000, { immediate: false });
}
