// Event catalog: every event type this service sends, with its
// description and an example payload.

import { h, fill, empty, jsonBlock, field } from '../ui.js';

/** exampleOf returns schemas["1"].examples[0], as send-example uses it. */
export function exampleOf(et) {
  const ex = et?.schemas?.['1']?.examples?.[0];
  return ex && typeof ex === 'object' && !Array.isArray(ex) ? ex : null;
}

export async function catalogPage(ctx, main) {
  main.dataset.page = 'catalog';
  const types = await ctx.catalog();
  if (!ctx.alive()) return;
  const filter = h('input', { type: 'search', id: 'catalog-filter', placeholder: 'Filter by name or description', autocomplete: 'off' });
  const list = h('ul.list', { id: 'catalog', 'aria-label': 'Event types' });
  const none = h('div', { hidden: true }, empty({ iconName: 'search', title: 'No event type matches', text: 'Try another word.' }));
  for (const et of types) {
    const ex = exampleOf(et);
    list.append(h('li', { dataset: { eventType: et.name, text: `${et.name} ${et.description}`.toLowerCase() } },
      h('div.type-row',
        h('div.tags',
          h('h2.mono', et.name),
          et.deprecated ? h('span.badge', 'Deprecated') : null),
        h('p.type-desc', et.description || 'No description.'),
        ex
          ? h('details.example', h('summary', 'Example payload'), jsonBlock(ex, { label: `Example payload of ${et.name}` }))
          : h('p.note', 'No example payload.'))));
  }
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const li of list.children) {
      li.hidden = q !== '' && !li.dataset.text.includes(q);
      if (!li.hidden) shown++;
    }
    none.hidden = shown > 0;
  });
  fill(main,
    h('div.page-head', h('div', h('h1', { tabindex: '-1' }, 'Event catalog'),
      h('p.lede', 'The events you can receive. Endpoints can subscribe to all of them or only to some.'))),
    types.length
      ? h('div.stack', h('div', field('Filter', filter)), h('section.card', list, none))
      : h('section.card', empty({ iconName: 'book', title: 'No event types yet', text: 'The catalog is empty for now; your endpoints receive every event that is sent.' })));
}
