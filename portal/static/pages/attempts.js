// Attempts: the row shown in every attempt log, and the detail dialog
// (the request as sent, the payload, and what the receiver answered).

import { h, icon, button, when, statusPill, httpCode, jsonBlock, openDialog, loading, fill, errorState, toast, copyButton } from '../ui.js';

const enc = encodeURIComponent;

export function triggerLabel(at) {
  return at.triggerType === 1 ? 'Manual' : 'Automatic';
}

/**
 * attemptRow is one attempt in a log; clicking it opens the detail. show
 * says what names the attempt: its message (in an endpoint's log) or its
 * endpoint (in a message's).
 */
export function attemptRow(ctx, at, { onResent, show = 'message' } = {}) {
  const primary = show === 'message' ? at.msgId : at.url;
  const secondary = show === 'message' ? at.url : at.endpointId;
  return h('button.row.attempt-row', {
    type: 'button', dataset: { attemptId: at.id, msgId: at.msgId, trigger: at.triggerType === 1 ? 'manual' : 'scheduled' },
    'aria-label': `Attempt ${at.id}`,
    onclick: () => openAttempt(ctx, at, { onResent }),
  },
  statusPill(at.status),
  httpCode(at.responseStatusCode, at.error),
  h('span.cell-stack',
    h('span.primary-text.mono', { title: primary }, primary),
    h('span.secondary-text', `${at.responseDurationMs} ms · ${secondary}`)),
  h('span.secondary-text', triggerLabel(at)),
  h('span.att-when.secondary-text', when(at.timestamp)));
}

function headersTable(headers) {
  const entries = Object.entries(headers || {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return h('p.note', 'No headers were recorded for this attempt.');
  return h('table.headers-table', { id: 'attempt-request-headers' },
    h('tbody', entries.map(([k, v]) => h('tr', h('th', { scope: 'row' }, k), h('td', v)))));
}

/** openAttempt shows one attempt in a dialog, with a resend button. */
export function openAttempt(ctx, at, { onResent } = {}) {
  const content = h('div.stack', loading('Loading the attempt…'));
  const resend = ctx.can.createAttempts
    ? button('Resend to this endpoint', { iconName: 'replay', id: 'attempt-resend' })
    : null;
  const close = button('Close', { id: 'attempt-close' });
  const { dlg } = openDialog({
    id: 'attempt-dialog', wide: true, title: h('span', 'Attempt ', h('span.mono', at.id)), body: content,
    foot: [resend, close],
    onOpen: () => close.focus(),
  });
  close.addEventListener('click', () => dlg.close());
  resend?.addEventListener('click', async () => {
    resend.disabled = true;
    try {
      await ctx.api.post(ctx.appPath(`msg/${enc(at.msgId)}/endpoint/${enc(at.endpointId)}/resend`));
      toast('Message resent; the new attempt appears in the log');
      dlg.close();
      onResent?.();
    } catch (err) {
      resend.disabled = false;
      toast(err.message || 'Could not resend', 'error');
    }
  });

  (async () => {
    try {
      const [detail, msg] = await Promise.all([
        ctx.api.get(ctx.appPath(`msg/${enc(at.msgId)}/attempt/${enc(at.id)}`)),
        ctx.api.get(ctx.appPath(`msg/${enc(at.msgId)}`), { with_content: 'true' }),
      ]);
      if (!dlg.open) return;
      fill(content,
        h('div.kv', { role: 'list' },
          h('dt', 'Status'), h('dd', { id: 'attempt-status' }, statusPill(detail.status), ' ', httpCode(detail.responseStatusCode, detail.error)),
          h('dt', 'When'), h('dd', when(detail.timestamp)),
          h('dt', 'Trigger'), h('dd', triggerLabel(detail)),
          h('dt', 'Duration'), h('dd', `${detail.responseDurationMs} ms`),
          h('dt', 'Event'), h('dd', h('span.tag', msg.eventType), ' ', h('a', { href: `#/logs/${enc(msg.id)}`, onclick: () => dlg.close() }, 'Open message')),
          h('dt', 'Endpoint'), h('dd', h('a.mono', { href: `#/endpoints/${enc(detail.endpointId)}`, onclick: () => dlg.close() }, detail.url))),
        h('section', { 'aria-label': 'Request' },
          h('div.section-title', 'Request'),
          h('p.mono', { id: 'attempt-request-line' }, `POST ${detail.url}`),
          headersTable(detail.requestHeaders)),
        h('section', { 'aria-label': 'Payload' },
          h('div.section-head', h('div.section-title', 'Payload'), copyButton(() => JSON.stringify(msg.payload, null, 2), 'Copy payload')),
          msg.payload?.expired ? h('p.note', 'The payload has expired and is no longer kept.') : jsonBlock(msg.payload, { label: 'Payload' })),
        h('section', { 'aria-label': 'Response', id: 'attempt-response' },
          h('div.section-title', 'Response'),
          detail.error ? h('p.callout.error', icon('alert'), h('span', detail.error)) : null,
          detail.responseStatusCode
            ? h('p', 'Status ', h('strong', { id: 'attempt-response-code' }, String(detail.responseStatusCode)), ` after ${detail.responseDurationMs} ms`)
            : null,
          detail.response === 'EXPUNGED'
            ? h('p.note', 'The response body has been removed.')
            : jsonBlock(detail.response, { label: 'Response body' })));
    } catch (err) {
      if (dlg.open) fill(content, errorState(err));
    }
  })();
  return dlg;
}
