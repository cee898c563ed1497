// Logs: messages (optionally as one endpoint saw them) and attempts,
// newest first, filtered by endpoint, status, event type and dates, or
// found by message id / eventId. The message list shows where each
// message stands with each endpoint; "Failed" keeps the ones whose
// delivery failed for good, and "Retry all failed" recovers them. The
// filters live in the URL, so the back button and a reload keep them.

import { h, icon, button, fill, loading, empty, errorState, select, when, statusPill, deliveryStates, field, STATUS_OPTIONS, toLocalInput, fromLocalInput, callout, openDialog, toast, describeError } from '../ui.js';
import { pagedList } from '../list.js';
import { attemptRow } from './attempts.js';

const enc = encodeURIComponent;

/**
 * messageRow is a message in a list. withStatus shows its status with the
 * one endpoint the list is about; states (the API's delivery states, or
 * undefined while loading) shows one status per endpoint.
 */
export function messageRow(m, { withStatus, states, nameOf } = {}) {
  const cls = withStatus ? '.with-status' : states !== undefined ? '.with-states' : '';
  return h(`a.row.msg-row${cls}`, { href: `#/logs/${enc(m.id)}`, dataset: { msgId: m.id } },
    h('span.msg-type', h('span.tag', { title: m.eventType }, m.eventType)),
    h('span.cell-stack',
      h('span.primary-text.mono', m.id),
      h('span.secondary-text', m.eventId ? `eventId ${m.eventId}` : 'no eventId')),
    h('span.secondary-text', when(m.timestamp)),
    withStatus ? statusPill(m.status) : null,
    states !== undefined ? deliveryStates(states, nameOf) : null,
    h('span.chev', icon('chevron')));
}

/** withStates adds each message's delivery states (m.states) to a page. */
async function withStates(ctx, page) {
  if (!page.data.length) return page;
  try {
    const r = await ctx.api.get(ctx.appPath('delivery-status'), { msg_id: page.data.map((m) => m.id) });
    const by = new Map(r.data.map((x) => [x.msgId, x.endpoints]));
    for (const m of page.data) m.states = by.get(m.id) || [];
  } catch (err) {
    if (err.status === 401) throw err;
    for (const m of page.data) m.states = null; // shown as unknown; the list itself still works
  }
  return page;
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
    failed: query.get('failed') === '1' ? '1' : '',
  };
}

function hashFor(f) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v && !(k === 'view' && v === 'messages')) q.set(k, v);
  const s = q.toString();
  return `#/logs${s ? '?' + s : ''}`;
}

export async function logsPage(ctx, main, _params, query) {
  let list;
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

  // The quick filter and the bulk retry.
  const failedBtn = f.view === 'messages' ? h('button.btn.small', {
    type: 'button', id: 'logs-failed', 'aria-pressed': f.failed ? 'true' : 'false',
    title: 'Show only messages whose delivery failed for good',
    onclick: () => ctx.navigate(hashFor({ ...f, failed: f.failed ? '' : '1' })),
  }, icon('alert'), h('span.btn-label', 'Failed')) : null;
  const retryBtn = f.view === 'messages' && ctx.can.createAttempts && endpoints.length
    ? button('Retry all failed', { iconName: 'replay', small: true, id: 'retry-failed', onclick: () => retryAllFailed(ctx, endpoints, () => list?.reload()) })
    : null;

  // The filters.
  const search = h('input', { type: 'search', id: 'logs-search', name: 'q', value: f.q, placeholder: 'msg_… or your eventId', autocomplete: 'off' });
  const epSel = select([...(f.view === 'messages' ? [['', 'All endpoints']] : []), ...endpoints.map((e) => [e.id, e.description ? `${e.description} — ${e.url}` : e.url])], { id: 'logs-endpoint', value: f.endpoint });
  const stSel = select(STATUS_OPTIONS, { id: 'logs-status', value: f.status });
  // A message's status is per endpoint: without one, there is none.
  const statusNeedsEndpoint = f.view === 'messages' && !f.endpoint;
  const syncStatus = () => {
    stSel.disabled = f.view === 'messages' && !epSel.value;
    stSel.title = stSel.disabled ? 'Pick an endpoint to filter by status' : '';
    stSel.options[0].textContent = stSel.disabled ? 'Any status (pick an endpoint to filter)' : 'Any status';
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
      view: f.view, failed: f.failed, q: search.value.trim(), endpoint: epSel.value, status: stSel.disabled ? '' : stSel.value,
      type: typeSel.value, after: fromLocalInput(after.value), before: fromLocalInput(before.value),
    }));
  });

  const results = h('section.card', { 'aria-label': 'Results' });
  fill(body, h('div.section-head', seg, h('div.page-actions', failedBtn, retryBtn)), form, results);

  const common = { event_types: f.type || undefined, after: f.after, before: f.before, limit: 20 };
  const filtered = f.type || f.after || f.before || f.status || f.failed;
  const names = new Map(endpoints.map((e) => [e.id, e.description || e.url]));
  const nameOf = (id) => names.get(id) || id;

  if (f.q) {
    fill(results, loading());
    try {
      const m = await ctx.api.get(ctx.appPath(`msg/${enc(f.q)}`));
      await withStates(ctx, { data: [m] });
      fill(results, h('ul.list', { 'aria-label': 'Search result' }, h('li', messageRow(m, { states: m.states, nameOf }))));
    } catch (err) {
      if (err.status === 401) return;
      fill(results, err.status === 404
        ? empty({ iconName: 'search', title: 'No message found', text: `No message has the id or eventId “${f.q}”.` })
        : errorState(err));
    }
    return;
  }

  if (f.view === 'messages') {
    const byEndpoint = Boolean(f.endpoint);
    list = pagedList({
      label: 'Messages', prevLabel: 'Newer', nextLabel: 'Older',
      fetchPage: (iterator) => byEndpoint
        ? ctx.api.get(ctx.appPath(`endpoint/${enc(f.endpoint)}/msg`), { ...common, iterator, status: f.failed ? '2' : f.status, expanded_statuses: true })
        : ctx.api.get(ctx.appPath(f.failed ? 'failed-msg' : 'msg'), { ...common, iterator }).then((p) => withStates(ctx, p)),
      renderItem: (m) => messageRow(m, byEndpoint ? { withStatus: true } : { states: m.states, nameOf }),
      empty: () => empty({
        iconName: f.failed ? 'check' : 'logs',
        title: f.failed && !(f.type || f.after || f.before) ? 'No failed messages' : filtered ? 'No message matches these filters' : 'No messages yet',
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

/**
 * retryAllFailed asks from when, then recovers every endpoint's failed
 * messages since then (the API's recover, one endpoint at a time) and
 * shows the progress: endpoints done, then the failed messages left as
 * the new attempts land.
 */
function retryAllFailed(ctx, endpoints, onDone) {
  const live = endpoints.filter((e) => !e.disabled);
  const since = h('input', { type: 'datetime-local', id: 'retry-since', required: true, value: toLocalInput(new Date(Date.now() - 24 * 3600e3)), max: toLocalInput(new Date()) });
  const bar = h('progress', { id: 'retry-bar', max: String(live.length || 1), value: '0', 'aria-label': 'Endpoints recovered' });
  const status = h('p', { id: 'retry-status', role: 'status', 'aria-live': 'polite' }, '');
  const progress = h('div.retry-progress', { hidden: true }, bar, status);
  const start = button('Retry', { kind: 'primary', type: 'submit', iconName: 'replay', id: 'retry-start' });
  const close = button('Close', { id: 'retry-close' });
  const form = h('form.stack', { id: 'retry-form' },
    h('p', `Sends again every message that failed for good since the time below, to ${live.length === 1 ? 'its endpoint' : `each of your ${live.length} enabled endpoints`}. Messages that were delivered are not sent twice.`),
    field('Failed since', since, { hint: 'Your local time.' }),
    progress);
  const { dlg } = openDialog({ id: 'retry-dialog', title: 'Retry all failed messages', body: form, foot: [close, start], onOpen: () => since.focus() });
  close.addEventListener('click', () => dlg.close('cancel'));
  start.addEventListener('click', () => form.requestSubmit());
  let running = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (running) return;
    const iso = fromLocalInput(since.value);
    if (!iso) {
      since.focus();
      return;
    }
    running = true;
    start.disabled = true;
    since.disabled = true;
    progress.hidden = false;
    const errors = [];
    for (const [i, ep] of live.entries()) {
      status.textContent = `Recovering endpoint ${i + 1} of ${live.length}…`;
      try {
        await ctx.api.post(ctx.appPath(`endpoint/${enc(ep.id)}/recover`), { since: iso });
      } catch (err) {
        if (err.status === 401) return;
        errors.push(`${ep.description || ep.url}: ${describeError(err)}`);
      }
      bar.value = i + 1;
    }
    // Watch the failed messages since then drain as the attempts land.
    const left = async () => (await ctx.api.get(ctx.appPath('failed-msg'), { after: iso, limit: 100 })).data.length;
    const deadline = Date.now() + 60e3;
    let n = await left().catch(() => -1);
    while (n > 0 && Date.now() < deadline && dlg.open) {
      status.textContent = `Resent. Waiting for the receivers: ${n === 100 ? '100+' : n} message(s) still failed…`;
      await new Promise((r) => setTimeout(r, 1000));
      n = await left().catch(() => n);
    }
    status.dataset.done = '1';
    status.textContent = errors.length ? `Done, with errors: ${errors.join('; ')}`
      : n === 0 ? 'Done: no failed message left since then.'
        : `Resent. ${n === 100 ? '100+' : n} message(s) still failed: their receiver may still be down; they keep retrying.`;
    toast(errors.length ? 'Retry finished with errors' : 'Retry finished', errors.length ? 'error' : '');
    close.focus();
    onDone?.();
  });
}
