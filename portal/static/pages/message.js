// One message: its payload, where it went (with a resend button per
// endpoint), and its attempts, which update live.

import { h, button, fill, loading, empty, when, destinationPill, jsonBlock, copyButton, toast, errorState } from '../ui.js';
import { attemptRow } from './attempts.js';

const enc = encodeURIComponent;

export async function messagePage(ctx, main, [id]) {
  main.dataset.page = 'message';
  main.dataset.msgId = id;
  main.append(loading());
  const msg = await ctx.api.get(ctx.appPath(`msg/${enc(id)}`), { with_content: 'true' });
  if (!ctx.alive()) return;

  const destList = h('ul.list', { id: 'destinations', 'aria-label': 'Endpoints' }, h('li', loading()));
  const attemptList = h('ul.list', { id: 'message-attempts', 'aria-label': 'Attempts' }, h('li', loading()));
  const rows = new Map(); // attempt id -> <li>
  let poke = null; // makes the poller look now

  async function resend(ep, btn) {
    btn.disabled = true;
    try {
      await ctx.api.post(ctx.appPath(`msg/${enc(msg.id)}/endpoint/${enc(ep.id)}/resend`));
      toast('Message resent; watch for the new attempt below');
      poke?.();
    } catch (err) {
      toast(err.message || 'Could not resend', 'error');
    } finally {
      btn.disabled = false;
    }
  }

  function drawDestinations(dests) {
    if (!dests.length) {
      fill(destList, h('li', empty({ iconName: 'endpoints', title: 'Sent to no endpoint', text: 'No endpoint listened to this event when it was sent. Resend it from an endpoint’s log, or recover it after adding one.' })));
      return;
    }
    fill(destList, dests.map((d) => h('li', h('div.row.dest-row', { dataset: { endpointId: d.id } },
      h('a.cell-stack', { href: `#/endpoints/${enc(d.id)}` },
        h('span.primary-text.mono', d.url),
        h('span.secondary-text', d.nextAttempt ? h('span', 'Next try ', when(d.nextAttempt)) : d.description || 'No description')),
      destinationPill(d),
      ctx.can.createAttempts
        ? button('Resend', { small: true, iconName: 'replay', dataset: { resendEndpoint: d.id }, title: `Resend this message to ${d.url}`, onclick: (e) => resend(d, e.currentTarget) })
        : h('span')))));
  }

  function drawAttempts(atts) {
    if (!atts.length) {
      if (!rows.size) fill(attemptList, h('li', h('p.loading', h('span.spinner'), 'No attempt yet; they appear here as they happen.')));
      return;
    }
    if (!rows.size) attemptList.replaceChildren();
    // Oldest first, so that each new one is prepended above the others.
    for (const at of atts.slice().reverse()) {
      const row = attemptRow(ctx, at, { onResent: () => poke?.(), show: 'endpoint' });
      const old = rows.get(at.id);
      if (old) {
        if (old.dataset.status !== String(at.status)) {
          old.replaceChildren(row);
          old.dataset.status = String(at.status);
        }
        continue;
      }
      const li = h('li', { dataset: { status: String(at.status) } }, row);
      if (rows.size) row.classList.add('row-new');
      rows.set(at.id, li);
      attemptList.prepend(li);
    }
  }

  fill(main,
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/logs' }, 'Logs'), '/', h('span', 'Message')),
    h('div.page-head',
      h('div',
        h('h1', { tabindex: '-1' }, msg.eventType),
        h('p.lede', h('code', { id: 'message-id' }, msg.id), msg.eventId ? [' · eventId ', h('code', msg.eventId)] : null, ' · ', when(msg.timestamp))),
      h('div.page-actions', copyButton(() => msg.id, 'Copy id'))),
    h('div.stack',
      h('div.grid-2',
        h('section.card', { 'aria-labelledby': 'payload-title' },
          h('div.card-head', h('h2', { id: 'payload-title' }, 'Payload'), copyButton(() => JSON.stringify(msg.payload, null, 2))),
          h('div.card-body', msg.payload?.expired ? h('p.note', 'The payload has expired and is no longer kept.') : jsonBlock(msg.payload, { label: 'Payload' }),
            msg.channels?.length ? h('p.note', 'Channels: ', msg.channels.join(', ')) : null)),
        h('section.card', { 'aria-labelledby': 'dest-title' },
          h('div.card-head', h('h2', { id: 'dest-title' }, 'Endpoints'), h('span.sub', 'Latest status per endpoint')),
          destList)),
      h('section.card', { 'aria-labelledby': 'msg-attempts-title' },
        h('div.card-head', h('h2', { id: 'msg-attempts-title' }, 'Attempts'), h('span.live', 'Updates live')),
        attemptList)));

  let failures = 0;
  let timer = null;
  let running = false;
  let again = false;
  let settled = false;
  let fastUntil = Date.now() + 10000; // right after opening or a resend
  const tick = async () => {
    timer = null;
    if (!ctx.alive()) return;
    if (running) {
      again = true; // look once more as soon as this look ends
      return;
    }
    running = true;
    try {
      const [dests, atts] = await Promise.all([
        ctx.api.get(ctx.appPath(`msg/${enc(msg.id)}/endpoint`), { limit: 50 }),
        ctx.api.get(ctx.appPath(`attempt/msg/${enc(msg.id)}`), { limit: 50 }),
      ]);
      if (!ctx.alive()) return;
      failures = 0;
      drawDestinations(dests.data);
      drawAttempts(atts.data);
      // Look often while a delivery is pending or being sent, and now and
      // then once they have all settled (a resend pokes it awake).
      settled = dests.data.every((d) => d.status !== 1 && d.status !== 3);
    } catch (err) {
      if (err.status === 401 || !ctx.alive()) {
        running = false;
        return;
      }
      if (++failures === 3 && !rows.size) fill(attemptList, h('li', errorState(err)));
    }
    running = false;
    const slow = document.visibilityState === 'hidden' || (settled && Date.now() > fastUntil);
    const wait = again ? 0 : slow ? 5000 : 1500;
    again = false;
    if (ctx.alive()) timer = setTimeout(tick, wait);
  };
  poke = () => {
    fastUntil = Date.now() + 10000;
    if (timer) clearTimeout(timer);
    tick();
  };
  ctx.onDispose(() => timer && clearTimeout(timer));
  await tick();
}

