// Throttled endpoints: the tenant's endpoints whose delivery lane is full
// with deliveries waiting — the receiver is held to what it can take (its
// lane's limit adapts to timeouts, refusals, 429 and 503, up to the cap).
// Only this tenant's lanes are ever asked for.

import { h, fill, loading, empty, errorState, when, fmtRelative } from '../../../portal/assets/ui.js';

const enc = encodeURIComponent;

function laneRow(e) {
  const cell = (label, ...content) => h('td', { dataset: { label } }, ...content);
  return h('tr.lane-row', { dataset: { endpointId: e.id } },
    cell('Endpoint',
      h('a.lane-url.mono', { href: `#/apps/${enc(e.appId)}`, title: e.description || e.url }, e.url),
      h('span.lane-id.mono', e.id)),
    cell('Application', h('span.lane-app', e.appName || e.appId)),
    cell('Limit now', h('span.num', { dataset: { figure: 'limit' } }, String(e.limit))),
    cell('Cap', h('span.num', { dataset: { figure: 'cap' } }, String(e.cap)),
      h('span.lane-cap-note', e.maxConcurrency ? 'set on the endpoint' : 'default')),
    cell('In flight', h('span.num', { dataset: { figure: 'in-flight' } }, String(e.inFlight))),
    cell('Waiting', h('span.num', { dataset: { figure: 'waiting' } }, String(e.waiting))),
    cell('Held at 1 since', e.atOneSince
      ? h('span.lane-since', when(e.atOneSince), h('span.lane-cap-note', fmtRelative(e.atOneSince)))
      : h('span.lane-since', { title: 'The lane allows more than one attempt at a time' }, '—')));
}

export async function throttledPage(ctx, main) {
  main.dataset.page = 'throttled';
  main.append(h('div.page-head', h('div', h('h1', { tabindex: '-1' }, 'Throttled endpoints'),
    h('p.lede', 'Endpoints whose receiver is held to what it can take: every slot of their delivery lane is busy and deliveries wait for one. ',
      'The limit adapts — it shrinks on timeouts, refused connections, 429 and 503, and grows again after successes — up to the cap (64 unless set on the endpoint). ',
      'Other endpoints are not slowed down by these.'))));
  const card = h('section.card', { id: 'throttled', 'aria-labelledby': 'throttled-title' }, loading());
  main.append(h('div.stack', card));

  async function draw() {
    const o = await ctx.capi.get('throttled');
    if (!ctx.alive()) return;
    const head = h('div.card-head', h('h2', { id: 'throttled-title' }, 'Lanes at their limit'),
      h('span.sub', { id: 'throttled-summary' }, o.available
        ? `${o.total} endpoint${o.total === 1 ? '' : 's'} · ${o.parked} deliver${o.parked === 1 ? 'y' : 'ies'} waiting`
        : 'not available on this server'),
      h('span.live', 'Updates live'));
    if (!o.endpoints.length) {
      fill(card, head, empty({ iconName: 'check', title: 'No endpoint is throttled',
        text: o.available ? 'Every endpoint’s receiver keeps up with its deliveries.' : 'This server cannot read the delivery lanes.' }));
      card.dataset.count = '0';
      return;
    }
    const cols = ['Endpoint', 'Application', 'Limit now', 'Cap', 'In flight', 'Waiting', 'Held at 1 since'];
    fill(card, head, h('div.table-wrap',
      h('table.lanes-table', { id: 'throttled-table', 'aria-label': 'Throttled endpoints' },
        h('colgroup', h('col.c-ep'), h('col.c-app'), h('col.c-num'), h('col.c-cap'), h('col.c-num'), h('col.c-num'), h('col.c-since')),
        h('thead', h('tr', cols.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', o.endpoints.map(laneRow)))));
    card.dataset.count = String(o.endpoints.length);
  }
  try {
    await draw();
  } catch (err) {
    if (err.status === 401) return;
    fill(card, errorState(err, () => ctx.navigate(location.hash)));
    return;
  }
  ctx.poll(draw, 3000, { immediate: false });
}
