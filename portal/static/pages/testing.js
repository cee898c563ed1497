// Testing: send an example event to an endpoint and watch the attempt.

import { h, icon, button, fill, empty, select, field, jsonBlock, callout, statusPill, httpCode, toast } from '../ui.js';
import { attemptRow } from './attempts.js';
import { exampleOf } from './catalog.js';

const enc = encodeURIComponent;
const PING = { success: true };

export async function testingPage(ctx, main, _params, query) {
  main.dataset.page = 'testing';
  const [endpoints, catalog] = await Promise.all([ctx.endpoints(), ctx.catalog()]);
  if (!ctx.alive()) return;
  const head = h('div.page-head', h('div', h('h1', { tabindex: '-1' }, 'Testing'),
    h('p.lede', 'Send an example event to one of your endpoints and see what it answered.')));
  if (!ctx.can.createAttempts) {
    fill(main, head, callout('warn', 'Your access does not allow sending test events.'));
    return;
  }
  if (!endpoints.length) {
    fill(main, head, h('section.card', empty({
      iconName: 'endpoints', title: 'Add an endpoint first', text: 'Test events are sent to one of your endpoints.',
      action: ctx.can.manageEndpoint ? h('a.btn.primary', { href: '#/endpoints/new' }, icon('plus'), 'Add endpoint') : null,
    })));
    return;
  }
  const types = [['svix.ping', 'svix.ping — a connectivity check'], ...catalog.filter((t) => exampleOf(t)).map((t) => [t.name, t.name])];
  const wanted = query.get('endpoint');
  const epSel = select(endpoints.map((e) => [e.id, e.description ? `${e.description} — ${e.url}` : e.url]), {
    id: 'test-endpoint', value: endpoints.some((e) => e.id === wanted) ? wanted : endpoints[0].id,
  });
  const typeSel = select(types, { id: 'test-event-type', value: 'svix.ping' });
  const preview = h('div', { id: 'test-preview' });
  const drawPreview = () => {
    const et = catalog.find((t) => t.name === typeSel.value);
    fill(preview, jsonBlock(et ? exampleOf(et) : PING, { label: 'Payload to send' }));
  };
  typeSel.addEventListener('change', drawPreview);
  drawPreview();
  const send = button('Send example', { kind: 'primary', type: 'submit', iconName: 'send', id: 'test-send' });
  const result = h('div', { id: 'test-result', 'aria-live': 'polite' });
  const form = h('form.card', { id: 'test-form', 'aria-label': 'Send a test event' },
    h('div.card-body.form-grid',
      field('Endpoint', epSel),
      field('Event type', typeSel, { hint: 'Event types without an example payload are not listed.' }),
      h('div.field.wide', h('span.label', 'Payload'), preview)),
    h('div.dialog-foot', send));

  let watch = 0;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    send.disabled = true;
    const epId = epSel.value;
    const ep = endpoints.find((x) => x.id === epId);
    let msg;
    try {
      msg = await ctx.api.post(ctx.appPath(`endpoint/${enc(epId)}/send-example`), { eventType: typeSel.value });
    } catch (err) {
      send.disabled = false;
      fill(result, callout('error', err.message || 'The example could not be sent.'));
      return;
    }
    send.disabled = false;
    toast('Example sent');
    const mine = ++watch;
    const status = h('div.stack', h('p.loading', h('span.spinner'), 'Waiting for the attempt…'));
    fill(result, h('section.card', { dataset: { msgId: msg.id } },
      h('div.card-head', h('h2', 'Result'), h('a', { href: `#/logs/${enc(msg.id)}` }, 'Open in logs')),
      h('div.card-body.stack',
        h('p.note', 'Message ', h('code', msg.id), ` (${msg.eventType}) to `, h('code', ep.url)),
        status)));
    ctx.poll(async () => {
      if (mine !== watch) return false;
      const page = await ctx.api.get(ctx.appPath(`attempt/msg/${enc(msg.id)}`), { endpoint_id: epId, limit: 10 });
      const at = page.data[0];
      if (!at) return true;
      fill(status,
        h('div.tags', { id: 'test-outcome' }, statusPill(at.status), httpCode(at.responseStatusCode, at.error), h('span.note', `${at.responseDurationMs} ms`)),
        at.status === 0
          ? callout('info', 'Your endpoint accepted the webhook.', 'check')
          : callout('error', at.error || `Your endpoint answered ${at.responseStatusCode}; webhooks are retried until it answers 2xx.`),
        h('div.section-title', 'Response body'), jsonBlock(at.response),
        h('ul.list.card', h('li', attemptRow(ctx, at, { show: 'endpoint' }))));
      return false;
    }, 800);
  });
  fill(main, head, h('div.stack', form, result));
}
