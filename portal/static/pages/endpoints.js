// Endpoints: the list, with each endpoint's state and its success rate
// over the last 24 hours.

import { h, icon, empty } from '../ui.js';
import { pagedList } from '../list.js';

export function eventsSummary(ep) {
  const types = ep.eventTypes || [];
  if (!types.length) return h('span.secondary-text', 'All events');
  if (types.length === 1) return h('span.tag', types[0]);
  return h('span.secondary-text', { title: types.join(', ') }, `${types.length} event types`);
}

export function statePill(ep) {
  return ep.disabled ? h('span.pill.off', 'Disabled') : h('span.pill.ok', 'Active');
}

/** rateView shows a success share (0..1) as a bar and a percentage. */
export function rateView(rate) {
  if (rate == null) return h('span.secondary-text', 'No attempts in 24 h');
  const pct = Math.round(rate * 1000) / 10;
  const bar = h('span');
  bar.style.width = `${pct}%`;
  return h('div.rate', { title: `${pct}% of attempts succeeded in the last 24 hours` },
    h(`div.rate-bar${rate >= 0.95 ? '' : rate >= 0.7 ? '.mid' : '.low'}`, bar),
    h('span.rate-value', `${pct}%`));
}

export async function endpointsPage(ctx, main) {
  main.dataset.page = 'endpoints';
  const add = ctx.can.manageEndpoint
    ? h('a.btn.primary', { href: '#/endpoints/new', id: 'add-endpoint' }, icon('plus'), 'Add endpoint')
    : null;
  let rates = null;
  const loadRates = () => {
    rates ||= ctx.api.get(ctx.appPath('endpoint-stats'))
      .then((r) => new Map(r.data.map((x) => [x.endpointId, x.successRate])))
      .catch(() => new Map()); // the list is still useful without them
    return rates;
  };
  let rateMap = new Map();
  const list = pagedList({
    label: 'Endpoints',
    fetchPage: async (iterator) => {
      const [page, r] = await Promise.all([ctx.api.get(ctx.appPath('endpoint'), { iterator, limit: 20 }), loadRates()]);
      rateMap = r;
      return page;
    },
    renderItem: (ep) => h('a.row.ep-row', { href: `#/endpoints/${encodeURIComponent(ep.id)}`, dataset: { endpointId: ep.id } },
      h('div.cell-stack',
        h('span.primary-text.mono', { title: ep.url }, ep.url),
        h('span.secondary-text', ep.description || 'No description')),
      h('div.ep-events', eventsSummary(ep)),
      h('div.ep-rate.cell-stack', statePill(ep), ep.disabled ? null : rateView(rateMap.get(ep.id))),
      h('span.chev', icon('chevron'))),
    empty: () => empty({
      iconName: 'endpoints', title: 'No endpoints yet',
      text: ctx.can.manageEndpoint
        ? 'Add an endpoint to start receiving webhooks: a URL of yours that accepts POST requests.'
        : 'No endpoint receives webhooks for this application yet.',
      action: ctx.can.manageEndpoint ? h('a.btn.primary', { href: '#/endpoints/new' }, icon('plus'), 'Add your first endpoint') : null,
    }),
  });
  main.append(
    h('div.page-head',
      h('div', h('h1', { tabindex: '-1' }, 'Endpoints'),
        h('p.lede', 'The URLs that receive your webhooks. Each one gets every event, or only the types you pick.')),
      add ? h('div.page-actions', add) : null),
    h('section.card', { 'aria-label': 'Endpoints' }, list.el));
  await list.reload();
}
