// pagedList: a list that walks the API's iterators, with loading, empty
// and error states, and a quiet refresh that highlights new rows.

import { h, fill, button, loading, errorState } from './ui.js';

/**
 * pagedList renders pages fetched by fetchPage(iterator), which returns the
 * API's {data, iterator, done}. renderItem(item) returns the row element;
 * keyOf(item) its identity (for highlighting rows that appear on refresh).
 */
export function pagedList({ fetchPage, renderItem, keyOf = (x) => x.id, empty, label, prevLabel = 'Previous', nextLabel = 'Next' }) {
  const body = h('div', loading());
  const note = h('span.note');
  const prev = button(prevLabel, { iconName: 'back', small: true, dataset: { pager: 'prev' } });
  const next = button(nextLabel, { small: true, dataset: { pager: 'next' } });
  next.append(h('span', { 'aria-hidden': 'true' }, '→'));
  const pager = h('div.pager', { hidden: true }, prev, note, next);
  const el = h('div.paged', body, pager);

  let stack = []; // iterators of the pages before this one
  let cur = ''; // this page's iterator ('' = first page)
  let page = null;
  let seen = new Set();
  let gen = 0;

  function draw(resp, { quiet } = {}) {
    page = resp;
    if (!resp.data.length) {
      fill(body, stack.length ? h('p.note.loading', 'Nothing more here.') : empty());
    } else {
      const ul = h('ul.list', { 'aria-label': label });
      for (const item of resp.data) {
        const li = h('li', renderItem(item));
        if (quiet && !seen.has(keyOf(item))) li.firstChild?.classList.add('row-new');
        ul.append(li);
      }
      fill(body, ul);
    }
    seen = new Set(resp.data.map(keyOf));
    prev.disabled = stack.length === 0;
    next.disabled = resp.done || !resp.iterator;
    pager.hidden = prev.disabled && next.disabled;
    note.textContent = `Page ${stack.length + 1}`;
  }

  async function load(iter, { quiet = false } = {}) {
    const mine = ++gen;
    if (!quiet) fill(body, loading());
    try {
      const resp = await fetchPage(iter || undefined);
      if (mine !== gen) return;
      cur = iter;
      draw(resp, { quiet });
    } catch (err) {
      if (mine !== gen || err?.status === 401) return;
      if (quiet) return; // a failed background refresh keeps what is shown
      fill(body, errorState(err, () => load(iter)));
      pager.hidden = true;
    }
  }

  prev.addEventListener('click', () => {
    const iter = stack.pop();
    load(iter);
  });
  next.addEventListener('click', () => {
    if (!page?.iterator) return;
    stack.push(cur);
    load(page.iterator);
  });

  return {
    el,
    /** reload starts again from the first page. */
    reload() {
      stack = [];
      seen = new Set();
      return load('');
    },
    /** refresh re-reads the first page quietly (when it is shown). */
    refresh() {
      if (stack.length === 0) return load('', { quiet: true });
      return Promise.resolve();
    },
    get items() {
      return page?.data || [];
    },
  };
}
