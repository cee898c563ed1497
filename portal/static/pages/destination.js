// One destination: its status (pause, resume, delete), settings, and
// what it takes to use it — for a polling endpoint its polling token (for
// links that may see secrets), the consumer URL and an example to copy;
// for a FIFO endpoint its signing secret and its attempts (each a batch),
// with Skip and Force retry.

import { h, icon, button, fill, loading, confirm, toast, describeError } from '../ui.js';
import { secretCard } from './endpoint.js';
import {
  typeLabel, target, destStatusPill, detailsList, stateNote, attemptsCard, pollerCards,
} from './destination_parts.js';

const enc = encodeURIComponent;

export async function destinationPage(ctx, main, [id]) {
  main.dataset.page = 'destination';
  main.dataset.destinationId = id;
  const path = ctx.appPath(`destination/${enc(id)}`);
  main.append(loading());
  let d = await ctx.api.get(path);
  if (!ctx.alive()) return;

  const head = h('div.page-head');
  const note = h('div', { id: 'dest-note' });
  const details = h('div.card-body');
  const draw = () => {
    const actions = [];
    if (ctx.can.manageEndpoint) {
      if (d.type !== 'rabbitMq') actions.push(h('a.btn', { href: `#/destinations/${enc(d.id)}/edit`, id: 'dest-edit' }, icon('edit'), 'Edit'));
      const paused = d.status === 'disabled';
      actions.push(button(paused ? 'Resume' : 'Pause', {
        iconName: 'power', id: 'dest-toggle', onclick: async (e) => {
          const btn = e.currentTarget;
          btn.disabled = true;
          try {
            d = await ctx.api.patch(path, { status: paused ? 'enabled' : 'disabled' });
            toast(paused ? 'Destination resumed' : 'Destination paused');
            draw();
          } catch (err) {
            btn.disabled = false;
            if (err?.status !== 401) toast(describeError(err), 'error');
          }
        },
      }));
      actions.push(button('Delete', {
        kind: 'danger', iconName: 'trash', id: 'dest-delete', onclick: async () => {
          if (!(await confirm({
            title: 'Delete this destination?', confirmLabel: 'Delete destination', danger: true, iconName: 'trash',
            text: d.type === 'pollingEndpoint'
              ? 'Polls of it stop working at once, and its consumers’ places are forgotten. This cannot be undone.'
              : 'Nothing more is sent to it, including batches waiting for a retry. This cannot be undone.',
          }))) return;
          try {
            await ctx.api.del(path);
            toast('Destination deleted');
            ctx.navigate('#/destinations');
          } catch (err) {
            if (err?.status !== 401) toast(describeError(err), 'error');
          }
        },
      }));
    }
    fill(head,
      h('div.dest-title',
        h('div.tags', { id: 'dest-state', dataset: { state: d.status } }, destStatusPill(d), h('span.tag', typeLabel(d))),
        h(`h1${d.type === 'fifoEndpoint' ? '.mono' : ''}`, { tabindex: '-1', id: 'dest-heading' }, d.type === 'fifoEndpoint' ? target(d) : typeLabel(d)),
        h('p.lede', h('code', d.id))),
      h('div.page-actions', actions));
    const n = stateNote(d);
    note.hidden = !n;
    fill(note, n);
    fill(details, detailsList(d));
  };
  const refresh = async () => {
    try {
      const next = await ctx.api.get(path);
      if (!ctx.alive() || JSON.stringify(next) === JSON.stringify(d)) return;
      d = next;
      draw();
    } catch (err) {
      if (err?.status !== 401 && ctx.alive()) toast(describeError(err), 'error');
    }
  };
  draw();

  const cards = [h('section.card', { 'aria-labelledby': 'dest-details-title' },
    h('div.card-head', h('h2', { id: 'dest-details-title' }, 'Setup')), details)];
  if (d.type === 'pollingEndpoint') {
    const who = ctx.session.branding.displayName;
    cards.unshift(...pollerCards(ctx, {
      base: ctx.session.publicUrl || ctx.base, appId: ctx.appId, dest: d, tokenName: 'your token', canResume: ctx.can.manageEndpoint,
      tokenHint: ['this endpoint’s polling token (not this portal link: it expires).'],
      token: {
        canView: ctx.can.viewSecret, canRotate: ctx.can.rotateSecret,
        denied: `This portal link may not show that token: ask ${who} for it.`,
      },
    }));
  } else {
    if (d.type === 'fifoEndpoint') cards.unshift(secretCard(ctx, path));
    cards.push(attemptsCard(ctx, path, { canManage: ctx.can.manageEndpoint, onChange: refresh }).el);
  }
  fill(main,
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/destinations' }, 'Destinations'), '/', h('span', 'Destination')),
    head, h('div.stack', note, ...cards));
  // The status moves on its own (a batch fails, retries run out).
  ctx.poll(refresh, 3000, { immediate: false });
}
