// Logs: messages (optionally as one endpoint saw them) and attempts,
// newest first, filtered by endpoint, status, event type and dates, or
// found by message id / eventId. The filters live in the URL, so the back
// button and a reload keep them.

import { h, icon, button, fill, loading, empty, errorState, select, when, statusPill, field, STATUS_OPTIONS, toLocalInput, fromLocalInput, callout } from '../ui.js';
import { pagedList } from '../list.js';
import { attemptRow } from './attempts.js';

const enc = encodeURIComponent;

export function messageRow(m, { withStatus } = {}) {
  return h(`a.row.msg-row${withStatus ? '.with-status' : ''}`, { href: `#/logs/${enc(m.id)}`, dataset: { msgId: m.id } },
    h('span.msg-type', h('span.tag', { title: m.eventType }, m.eventType)),
    h('span.cell-stack',
      h('span.primary-text.mono', m.id),
      h('span.secondary-text', m.eventId ? `eventId ${m.eventId}` : 'no eventId')),
    h('span.secondary-text', when(m.timestamp)),
    withStatus ? statusPill(m.status) : null,
    h('span.chev', icon('chevron')));
}

function filtersFrom(query) {
  return {
    view: query.get('view') === 'attempts' ? 'attempts' : 'messages',
    endpoint: query.get('endpoint') || '',
    status: query.get('status') || '',
    type: query.get('type') || '',
    after: query.get('after') || '',
    before: query.get('before') || '',
    q: query.get('q') || '',
  };
}

function hashFor(f) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v && !(k === 'view' && v === 'messages')) q.set(k, v);
  const s = q.toString();
  return `#/logs${s ? '?' + s : ''}`;
}

export async function logsPage(ctx, main, _params, query) {
  main.dataset.page = 'logs';
  const f = filtersFrom(query);
  main.append(h('div.page-head', h('div', h('h1', { tabindex: '-1' }, 'Logs'),
    h('p.lede', 'Every message sent to you and every delivery attempt, newest first.'))));
  const body = h('div.stack', loading());
  main.append(body);

  let endpoints = [];
  let catalog = [];
  try {
    [endpoints, catalog] = await Promise.all([ctx.endpoints(), ctx.catalog().catch(() => [])]);
  } catch (err) {
    if (err.status === 401) return;
    fill(body, h('div.card', errorState(err, () => ctx.navigate(location.hash))));
    return;
  }
  if (!ctx.alive()) return;
  if (f.view === 'attempts' && !f.endpoint && endpoints.length) f.endpoint = endpoints[0].id;

  // The view switch.
  const seg = h('div.segmented', { role: 'group', 'aria-label': 'Show' },
    ['messages', 'attempts'].map((v) => h('button', {
      type: 'button', 'aria-pressed': f.view === v ? 'true' : 'false', dataset: { view: v },
      onclick: () => ctx.navigate(hashFor({ ...f, view: v, status: v === 'messages' && !f.endpoint ? '' : f.status })),
    }, v === 'messages' ? 'Messages' : 'Attempts')));

  // The filters.
  const search = h('input', { type: 'search', id: 'logs-search', name: 'q', value: f.q, placeholder: 'msg_… or your eventId', autocomplete: 'off' });
  const epSel = select([...(f.view === 'messages' ? [['', 'All endpoints']] : []), ...endpoints.map((e) => [e.id, e.description ? `${e.description} — ${e.url}` : e.url])], { id: 'logs-endpoint', value: f.endpoint });
  const stSel = select(STATUS_OPTIONS, { id: 'logs-status', value: f.status });
  // A message's status is per endpoint: without one, there is none.
  const statusNeedsEndpoint = f.view === 'messages' && !f.endpoint;
  const syncStatus = () => {
    stSel.disabled = f.view === 'messages' && !epSel.value;
    stSel.title = stSel.disabled ? 'Pick an endpoint to filter by status' : '';
    stSel.options[0].textContent = stSel.disabled ? 'Needs an endpoint' : 'Any status';
  };
  epSel.addEventListener('change', syncStatus);
  syncStatus();
  const typeSel = select([['', 'All event types'], ...catalog.map((t) => [t.name, t.name])], { id: 'logs-type', value: f.type });
  if (f.type && !catalog.some((t) => t.name === f.type)) typeSel.append(h('option', { value: f.type, selected: true }, f.type));
  const after = h('input', { type: 'datetime-local', id: 'logs-after', value: f.after ? toLocalInput(new Date(f.after)) : '' });
  const before = h('input', { type: 'datetime-local', id: 'logs-before', value: f.before ? toLocalInput(new Date(f.before)) : '' });
  const apply = button('Apply', { kind: 'primary', type: 'submit', id: 'logs-apply' });
  const reset = h('a.btn', { href: hashFor({ view: f.view }) }, 'Reset');
  const form = h('form.card.card-body.filters', { id: 'logs-filters', 'aria-label': 'Filters' },
    field('Search by message id or eventId', search, { name: 'q' }),
    field('Endpoint', epSel),
    field('Status', stSel),
    field('Event type', typeSel),
    field('From', after),
    field('To', before),
    h('div.actions', apply, reset));
  form.querySelector('[data-field="q"]').classList.add('search');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(hashFor({
      view: f.view, q: search.value.trim(), endpoint: epSel.value, status: stSel.disabled ? '' : stSel.value,
      type: typeSel.value, after: fromLocalInput(after.value), before: fromLocalInput(before.value),
    }));
  });

  const results = h('section.card', { 'aria-label': 'Results' });
  fill(body, h('div', seg), form, results);

  const common = { event_types: f.type || undefined, after: f.after, before: f.before, limit: 20 };
  const filtered = f.type || f.after || f.before || f.status;

  if (f.q) {
    fill(results, loading());
    try {
      const m = await ctx.api.get(ctx.appPath(`msg/${enc(f.q)}`));
      fill(results, h('ul.list', { 'aria-label': 'Search result' }, h('li', messageRow(m))));
    } catch (err) {
      if (err.status === 401) return;
      fill(results, err.status === 404
        ? empty({ iconName: 'search', title: 'No message found', text: `No message has the id or eventId “${f.q}”.` })
        : errorState(err));
    }
    return;
  }

  let list;
  if (f.view === 'messages') {
    const byEndpoint = Boolean(f.endpoint);
    list = pagedList({
      label: 'Messages', prevLabel: 'Newer', nextLabel: 'Older',
      fetchPage: (iterator) => byEndpoint
        ? ctx.api.get(ctx.appPath(`endpoint/${enc(f.endpoint)}/msg`), { ...common, iterator, status: f.status, expanded_statuses: true })
        : ctx.api.get(ctx.appPath('msg'), { ...common, iterator }),
      renderItem: (m) => messageRow(m, { withStatus: byEndpoint }),
      empty: () => empty({
        iconName: 'logs', title: filtered ? 'No message matches these filters' : 'No messages yet',
        text: filtered ? 'Change or reset the filters to see more.' : 'Messages appear here as soon as they are sent to you.',
      }),
    });
  } else if (!f.endpoint) {
    fill(results, empty({ iconName: 'endpoints', title: 'No endpoints', text: 'Attempts are made to endpoints; add one first.' }));
    return;
  } else {
    list = pagedList({
      label: 'Attempts', prevLabel: 'Newer', nextLabel: 'Older',
      fetchPage: (iterator) => ctx.api.get(ctx.appPath(`attempt/endpoint/${enc(f.endpoint)}`), { ...common, iterator, status: f.status }),
      renderItem: (at) => attemptRow(ctx, at, { onResent: () => list.refresh(), show: 'message' }),
      empty: () => empty({
        iconName: 'logs', title: filtered ? 'No attempt matches these filters' : 'No attempts yet',
        text: filtered ? 'Change or reset the filters to see more.' : 'Attempts to this endpoint appear here as they happen.',
      }),
    });
  }
  fill(results,
    h('div.card-head', h('h2', f.view === 'messages' ? 'Messages' : 'Attempts'), h('span.live', 'Updates live')),
    list.el);
  await list.reload();
  // New messages show up on their own while the first page is shown
  // (unless the window ends in the past anyway).
  if (!f.before) ctx.poll(() => list.refresh(), 4000, { immediate: false });
  if (statusNeedsEndpoint && f.status) body.prepend(callout('info', 'Status is per endpoint: pick an endpoint to filter by status.'));
}
