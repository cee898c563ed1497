// The event-type picker of the endpoint and destination forms: the
// catalog's types as checkboxes (with a filter when there are many), and a
// note that says what checking none means.

import { h } from '../ui.js';

/**
 * eventTypesField returns { el, values() }: el is the form field (its
 * data-field is "eventTypes", so a 422 about eventTypes lands on it),
 * values() the checked names. id names the checkbox list; what says what
 * receives the events ("this endpoint").
 */
export function eventTypesField(catalog, chosen, { id, what }) {
  const picked = new Set(chosen || []);
  const typeList = h('div.type-checks', { id });
  const typeFilter = h('input', { type: 'search', placeholder: 'Filter event types', 'aria-label': 'Filter event types' });
  const allNote = h('p.hint', { 'aria-live': 'polite' });
  const updateAllNote = () => {
    const n = typeList.querySelectorAll('input:checked').length;
    allNote.textContent = n ? `Only the ${n} checked event type${n > 1 ? 's' : ''}.` : `Nothing checked: ${what} receives every event type.`;
  };
  for (const et of catalog) {
    const cb = h('input', { type: 'checkbox', name: 'eventTypes', value: et.name, checked: picked.has(et.name), onchange: updateAllNote });
    typeList.append(h('label.check', { dataset: { name: et.name.toLowerCase() } }, cb,
      h('span.cell-stack', h('span.mono', et.name), et.description ? h('span.desc', et.description) : null)));
  }
  typeFilter.addEventListener('input', () => {
    const q = typeFilter.value.trim().toLowerCase();
    for (const l of typeList.children) l.hidden = q !== '' && !l.dataset.name.includes(q);
  });
  updateAllNote();
  const labelId = `${id}-label`;
  const el = h('div.field.wide', { dataset: { field: 'eventTypes' } },
    h('span.label', { id: labelId }, 'Event types'),
    catalog.length > 8 ? typeFilter : null,
    catalog.length
      ? h('div.card', { role: 'group', 'aria-labelledby': labelId }, typeList)
      : h('p.hint', `The catalog has no event types yet, so ${what} receives every event.`),
    allNote, h('p.error', { hidden: true }));
  return { el, values: () => [...typeList.querySelectorAll('input:checked')].map((c) => c.value) };
}
