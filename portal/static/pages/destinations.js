// Destinations: the list of the application's polling endpoints, FIFO
// endpoints and RabbitMQ destinations, each with its type, status, event
// types and batch size.

import { h, icon, empty } from '../ui.js';
import { pagedList } from '../list.js';
import { typeLabel, destStatusPill, target, batchLabel, eventsLabel } from './destination_parts.js';

function destinationRow(d) {
  const where = target(d);
  return h('a.row.sink-row', { href: `#/destinations/${encodeURIComponent(d.id)}`, dataset: { destinationId: d.id, type: d.type } },
    h('span.cell-stack',
      h('span.primary-text', { dataset: { layout: '' } }, typeLabel(d)),
      h(`span.secondary-text${d.type === 'fifoEndpoint' ? '.mono' : ''}`, { title: where }, where)),
    h('span.sink-events', eventsLabel(d)),
    h('span.sink-batch.secondary-text', { dataset: { layout: '' } }, batchLabel(d)),
    h('span.sink-status', destStatusPill(d)),
    h('span.chev', icon('chevron')));
}

export async function destinationsPage(ctx, main) {
  main.dataset.page = 'destinations';
  const add = ctx.can.manageEndpoint
    ? h('a.btn.primary', { href: '#/destinations/new', id: 'add-destination' }, icon('plus'), 'Add destination')
    : null;
  const list = pagedList({
    label: 'Destinations',
    fetchPage: (iterator) => ctx.api.get(ctx.appPath('destination'), { iterator, limit: 20 }),
    renderItem: destinationRow,
    empty: () => empty({
      iconName: 'layers', title: 'No destinations yet',
      text: ctx.can.manageEndpoint
        ? 'A polling endpoint lets your code fetch the events when it wants, with no inbound port open; a FIFO endpoint receives them in order, in batches.'
        : 'No polling or FIFO endpoint reads this application’s events yet.',
      action: add ? h('a.btn.primary', { href: '#/destinations/new' }, icon('plus'), 'Add a destination') : null,
    }),
  });
  main.append(
    h('div.page-head',
      h('div', h('h1', { tabindex: '-1' }, 'Destinations'),
        h('p.lede', 'Other ways to get your events: poll them from your own code, or receive them in order, in batches.')),
      add ? h('div.page-actions', add) : null),
    h('section.card', { 'aria-label': 'Destinations', id: 'dest-list' }, list.el));
  await list.reload();
  ctx.poll(() => list.refresh(), 5000, { immediate: false });
}
