// The page lifecycle shared by the portal and the console: a hash route
// picks a page and its tab; the page renders into a fresh <main> with a
// context whose alive() turns false, and whose disposers run, the moment
// another page replaces it, so that late answers and timers of a page that
// is gone never touch the screen.

import { h, fill, errorState } from './ui.js';

/**
 * createRouter returns { route, stop }.
 *   root: the element holding the shell (its .tab links get aria-current);
 *   routes: [regex, tab, page(ctx, main, params, query)], first match wins;
 *   home: the path of an empty or unknown hash (e.g. '/endpoints');
 *   context(): the app's shared context (api client, session, …), or null
 *     while signed out, when route does nothing.
 */
export function createRouter({ root, routes, home, context }) {
  let current = null; // the live page's scope

  function stop() {
    if (!current) return;
    current.alive = false;
    for (const fn of current.disposers) {
      try {
        fn();
      } catch {
        // a disposer failing must not keep the next page from rendering
      }
    }
    current = null;
  }

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || home;
    const [path, qs] = raw.split('?');
    return { path, query: new URLSearchParams(qs || '') };
  }

  function makeContext(base) {
    const scope = { alive: true, disposers: [] };
    const ctx = {
      ...base,
      scope,
      alive: () => scope.alive && current === scope,
      onDispose: (fn) => scope.disposers.push(fn),
      /**
       * poll runs fn now (unless immediate is false) and then every ms
       * while the page is shown (and the tab visible), one run at a time,
       * until the page changes or fn returns false.
       */
      poll(fn, ms, { immediate = true } = {}) {
        let timer = null;
        const tick = async () => {
          timer = null;
          if (!ctx.alive()) return;
          let again = true;
          if (document.visibilityState !== 'hidden') {
            try {
              again = (await fn()) !== false;
            } catch {
              // keep polling through transient failures
            }
          }
          if (again && ctx.alive()) timer = setTimeout(tick, ms);
        };
        if (immediate) tick();
        else timer = setTimeout(tick, ms);
        scope.disposers.push(() => timer && clearTimeout(timer));
      },
    };
    return ctx;
  }

  async function route() {
    const base = context();
    if (!base) return;
    stop();
    const { path, query } = parseHash();
    let match = null;
    for (const [re, tab, page] of routes) {
      const m = path.match(re);
      if (m) {
        match = { tab, page, params: m.slice(1).map(decodeURIComponent) };
        break;
      }
    }
    if (!match) {
      location.replace(`#${home}`);
      return;
    }
    for (const a of root.querySelectorAll('.tab')) {
      if (a.dataset.tab === match.tab) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const main = h('main.page', { id: 'page', tabindex: '-1', dataset: { page: '' } });
    document.getElementById('page').replaceWith(main);
    const ctx = makeContext(base);
    current = ctx.scope;
    try {
      await match.page(ctx, main, match.params, query);
    } catch (err) {
      if (err?.status === 401 || !ctx.alive()) return;
      fill(main, h('div.card', h('div.card-body', errorState(err, route))));
    }
    // Move focus to the new page's heading so keyboard and screen-reader
    // users land at its start (not on the first render, and not when the
    // page put it somewhere itself, such as a form's first field).
    if (ctx.alive() && route.seen && !main.contains(document.activeElement)) main.querySelector('h1')?.focus({ preventScroll: true });
    route.seen = true;
  }

  return { route, stop };
}
