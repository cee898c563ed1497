// An application's destinations on its console page: each polling
// endpoint, FIFO endpoint and RabbitMQ destination with its type, status
// and delivery, a Pause/Resume button, and Inspect: a dialog with its
// settings and either its attempts (Skip, Force retry) or its polling
// token, consumer URL and a working example.

import { h, fill, button, loading, empty, errorState, toast, openDialog, describeError } from '../../../portal/assets/ui.js';
import {
  typeLabel, target, destStatusPill, batchLabel, eventsLabel, detailsList, stateNote, attemptsCard, pollerCards, destinationPath,
} from '../../../portal/assets/pages/destination_parts.js';

function inspectDialog(ctx, app, d, onChange) {
  const path = destinationPath(app.id, d.id);
  const body = h('div.stack');
  const close = button('Close', { id: 'dest-dialog-close' });
  const { dlg } = openDialog({ id: 'dest-dialog', wide: true, title: `${typeLabel(d)} ${d.id}`, body, foot: [close], onOpen: () => close.focus() });
  close.addEventListener('click', () => dlg.close());
  const note = h('div', { id: 'dest-note' });
  const details = h('div');
  const draw = (cur) => {
    const n = stateNote(cur);
    note.hidden = !n;
    fill(note, n);
    fill(details, detailsList(cur));
  };
  draw(d);
  const refresh = async () => {
    try {
      const cur = await ctx.api.get(path);
      if (dlg.open) draw(cur);
      onChange();
    } catch (err) {
      if (err?.status !== 401) toast(describeError(err), 'error');
    }
  };
  const parts = [note, details];
  if (d.type === 'pollingEndpoint') {
    parts.push(...pollerCards(ctx, {
      base: ctx.session.publicUrl || new URL('../', location.href).href, appId: app.id, dest: d, tokenName: 'polling token', canResume: true,
      tokenHint: ['this endpoint’s polling token: it may only read this endpoint. One of your API keys works too, but it can do everything.'],
      token: { canView: true, canRotate: true },
    }));
  } else {
    parts.push(attemptsCard(ctx, path, { canManage: true, onChange: refresh, live: () => dlg.open }).el);
  }
  fill(body, parts);
}

/**
 * destinationsSection returns { el, draw }: the card listing the
 * application's destinations; draw() (re)loads it.
 */
export function destinationsSection(ctx, app) {
  const list = h('div', loading());
  const draw = async () => {
    let ds;
    try {
      ds = (await ctx.api.get(`app/${encodeURIComponent(app.id)}/destination`, { limit: 250 })).data;
    } catch (err) {
      if (err?.status !== 401) fill(list, errorState(err, draw));
      return;
    }
    if (!ctx.alive()) return;
    fill(list, ds.length
      ? h('ul.list', { id: 'app-destinations', 'aria-label': 'Destinations' }, ds.map((d) => h('li', row(d))))
      : empty({ iconName: 'layers', title: 'No destinations', text: 'Polling and FIFO endpoints this customer adds in their portal, or you add through the API, appear here.' }));
  };
  const row = (d) => {
    const paused = d.status === 'disabled';
    const where = target(d);
    return h('div.row.csink-row', { dataset: { destinationId: d.id, type: d.type } },
      h('span.cell-stack',
        h('span.primary-text', { dataset: { layout: '' } }, typeLabel(d)),
        h(`span.secondary-text${d.type === 'fifoEndpoint' ? '.mono' : ''}`, { title: where }, where),
        h('span.secondary-text.mono', d.id)),
      h('span.cell-stack', eventsLabel(d), h('span.secondary-text', { dataset: { layout: '' } }, batchLabel(d))),
      h('span', destStatusPill(d)),
      h('span.row-actions',
        button(paused ? 'Resume' : 'Pause', {
          small: true, iconName: 'power', dataset: { toggleDestination: d.id },
          onclick: async (e) => {
            e.currentTarget.disabled = true;
            try {
              await ctx.api.patch(destinationPath(app.id, d.id), { status: paused ? 'enabled' : 'disabled' });
              toast(paused ? 'Destination resumed' : 'Destination paused');
            } catch (err) {
              if (err?.status !== 401) toast(describeError(err), 'error');
            }
            await draw();
          },
        }),
        button('Inspect', {
          small: true, iconName: 'eye', dataset: { inspectDestination: d.id },
          title: d.type === 'pollingEndpoint' ? 'Settings and the consumer URL' : 'Settings and attempts',
          onclick: () => inspectDialog(ctx, app, d, draw),
        })));
  };
  const el = h('section.card', { 'aria-labelledby': 'dests-title' },
    h('div.card-head', h('div', h('h2', { id: 'dests-title' }, 'Destinations'), h('span.sub', 'Polling, FIFO and RabbitMQ'))),
    list);
  return { el, draw };
}
