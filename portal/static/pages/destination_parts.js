// Destinations (polling endpoints, FIFO endpoints, RabbitMQ): the pieces
// the portal's pages and the console's application page share — labels
// and status pills, the attempt log with Skip and Force retry, and the
// poller cards: the polling token, the consumer URL and a copyable example.

import {
  h, icon, button, fill, loading, errorState, empty, confirm, toast, copyButton, callout,
  when, statusPill, httpCode, jsonBlock, openDialog, describeError, revealToggle,
} from '../ui.js';
import { pagedList } from '../list.js';

const enc = encodeURIComponent;

export const TYPE_LABELS = {
  pollingEndpoint: 'Polling endpoint',
  fifoEndpoint: 'FIFO endpoint',
  rabbitMq: 'RabbitMQ',
};

export function typeLabel(d) {
  return TYPE_LABELS[d.type] || d.type;
}

// The API's statuses: enabled, disabled (paused by hand, or stopped after
// a batch used up its retries: then failureReason says why) and retrying.
const STATUS = {
  enabled: ['Active', 'ok'],
  retrying: ['Retrying', 'warn'],
  disabled: ['Paused', 'off'],
};

/** destStatusPill shows a destination's status; data-status is the API's. */
export function destStatusPill(d) {
  let [text, cls] = STATUS[d.status] || [d.status, 'off'];
  if (d.status === 'disabled' && d.failureReason) [text, cls] = ['Stopped', 'fail'];
  return h(`span.pill.${cls}`, { dataset: { status: d.status, layout: '' }, title: d.failureReason || null }, text);
}

/** target says where a destination's messages go, in a few words. */
export function target(d) {
  if (d.type === 'fifoEndpoint') return d.config?.url || '';
  if (d.type === 'rabbitMq') return `Routing key ${d.config?.routingKey || '(empty)'}`;
  return 'Your code reads the messages';
}

/** batchLabel is how a destination groups messages. */
export function batchLabel(d) {
  if (d.type === 'pollingEndpoint') return 'Up to 250 a poll';
  return `Batches of ${d.batchSize}`;
}

export function waitLabel(d) {
  if (d.type !== 'fifoEndpoint') return '—';
  return d.maxWaitSecs ? `Waits up to ${d.maxWaitSecs} s to fill a batch` : 'Sends at once';
}

/** eventsLabel summarises the event types a destination gets. */
export function eventsLabel(d) {
  const types = d.eventTypes || [];
  if (!types.length) return h('span.secondary-text', { dataset: { layout: '' } }, 'All events');
  if (types.length === 1) return h('span.tag', { title: types[0] }, types[0]);
  return h('span.secondary-text', { title: types.join(', '), dataset: { layout: '' } }, `${types.length} event types`);
}

/** detailsList is the destination's settings as a definition list. */
export function detailsList(d) {
  const rows = [
    ['ID', h('code', d.id)],
    ['Type', typeLabel(d)],
  ];
  if (d.type === 'fifoEndpoint') rows.push(['URL', h('code', { id: 'dest-url' }, d.config?.url || '')]);
  if (d.type === 'rabbitMq') {
    rows.push(['Routing key', h('code', d.config?.routingKey || '(empty)')]);
    rows.push(['Broker', 'Set by the API; its address and credentials are never shown.']);
  }
  rows.push(['Event types', d.eventTypes?.length ? h('div.tags', d.eventTypes.map((t) => h('span.tag', t))) : 'All events']);
  if (d.channels?.length) rows.push(['Channels', h('div.tags', d.channels.map((c) => h('span.tag', c)))]);
  if (d.type === 'fifoEndpoint') {
    rows.push(['Batch size', h('span', { id: 'dest-batch' }, `Up to ${d.batchSize} messages a request`)]);
    rows.push(['Max wait', waitLabel(d)]);
  }
  if (d.type === 'rabbitMq') rows.push(['Batch size', h('span', { id: 'dest-batch' }, `Up to ${d.batchSize} messages an attempt, each published on its own`)]);
  if (d.nextRetryAt) rows.push(['Next retry', when(d.nextRetryAt)]);
  rows.push(['Created', when(d.createdAt)]);
  return h('dl.kv', { id: 'dest-details' }, rows.flatMap(([k, v]) => [h('dt', k), h('dd', v)]));
}

/** stateNote explains a destination that is not sending, or null. */
export function stateNote(d) {
  if (d.status === 'disabled' && d.failureReason) {
    return callout('error', [h('strong', 'Stopped: '), d.failureReason, '. Fix the receiver, then Force retry to send the waiting batch again, or Skip it.']);
  }
  if (d.status === 'disabled' && d.type === 'pollingEndpoint') {
    return callout('info', ['Paused: polls answer 409 ', h('code', 'destination_disabled'), ' until it is resumed. Each consumer keeps its place, and new messages wait.'], 'power');
  }
  if (d.status === 'disabled') return callout('info', 'Paused: nothing is sent. Messages keep their place and go out in order once it is resumed.', 'power');
  if (d.status === 'retrying') {
    return callout('warn', ['A batch failed; it is sent again ', d.nextRetryAt ? when(d.nextRetryAt) : 'soon', '. The messages after it wait, so that order holds.']);
  }
  return null;
}

// ---------- attempts ----------

// answer is an attempt's HTTP status; a broker's confirm has none.
function answer(at) {
  if (at.responseStatusCode) return httpCode(at.responseStatusCode);
  if (at.status === 0) return h('span.pill.ok', 'Confirmed');
  return httpCode(0, 'No response');
}

function attemptRow(ctx, path, at) {
  const first = at.firstMsgId || '—';
  const last = at.lastMsgId && at.lastMsgId !== at.firstMsgId ? `→ ${at.lastMsgId}` : 'this message only';
  return h('button.row.sink-attempt-row', {
    type: 'button', dataset: { attemptId: at.id, first: at.firstMsgId || '', last: at.lastMsgId || '' },
    'aria-label': `Attempt ${at.id}`, onclick: () => openDestinationAttempt(ctx, path, at),
  },
  h('span', { dataset: { layout: '' } }, statusPill(at.status)),
  h('span', { dataset: { layout: '' } }, answer(at)),
  h('span.cell-stack',
    h('span.primary-text.mono', { dataset: { layout: '' }, title: at.firstMsgId || '' }, first),
    h('span.secondary-text.mono', { dataset: { layout: '' }, title: at.lastMsgId || '' }, last)),
  h('span.cell-stack.att-size',
    h('span.secondary-text', { dataset: { layout: '' } }, `${at.numEvents} event${at.numEvents === 1 ? '' : 's'}`),
    h('span.secondary-text', { dataset: { layout: '' } }, `${at.responseDurationMs} ms`)),
  h('span.att-when.secondary-text', { dataset: { layout: '' } }, when(at.timestamp)));
}

/** openDestinationAttempt shows one attempt with what the receiver answered. */
export function openDestinationAttempt(ctx, path, at) {
  const content = h('div.stack', loading('Loading the attempt…'));
  const close = button('Close', { id: 'dest-attempt-close' });
  const { dlg } = openDialog({
    id: 'dest-attempt-dialog', wide: true, title: h('span', 'Attempt ', h('span.mono', at.id)), body: content, foot: [close],
    onOpen: () => close.focus(),
  });
  close.addEventListener('click', () => dlg.close());
  ctx.api.get(`${path}/attempt/${enc(at.id)}`).then((d) => {
    if (!dlg.open) return;
    fill(content,
      h('dl.kv',
        h('dt', 'Status'), h('dd', { id: 'dest-attempt-status' }, statusPill(d.status), ' ', answer(d)),
        h('dt', 'When'), h('dd', when(d.timestamp)),
        h('dt', 'Messages'), h('dd', `${d.numEvents}, from `, h('code', d.firstMsgId || '—'), ' to ', h('code', d.lastMsgId || '—')),
        h('dt', 'Duration'), h('dd', `${d.responseDurationMs} ms`)),
      h('section', { 'aria-label': 'Response', id: 'dest-attempt-response' },
        h('div.section-title', d.responseStatusCode ? 'Response' : 'Error'),
        jsonBlock(d.response ?? '', { label: 'Response body' })));
  }).catch((err) => {
    if (dlg.open) fill(content, errorState(err));
  });
  return dlg;
}

/**
 * attemptsCard is the attempt log of the destination at path (newest
 * first, kept current while live() holds), with Skip and Force retry when
 * canManage. onChange runs after either, to redraw the destination.
 */
export function attemptsCard(ctx, path, { canManage, onChange, live = () => true }) {
  const list = pagedList({
    label: 'Attempts', prevLabel: 'Newer', nextLabel: 'Older',
    fetchPage: (iterator) => ctx.api.get(`${path}/attempt`, { iterator, limit: 20, withContent: 'false' }),
    renderItem: (at) => attemptRow(ctx, path, at),
    empty: () => empty({
      iconName: 'logs', title: 'No attempts yet',
      text: 'Each batch sent appears here: its first and last message, the answer, and when.',
    }),
  });
  const act = (what, call, done) => async (e) => {
    const btn = e.currentTarget;
    btn.disabled = true;
    try {
      await call();
      toast(done);
      await Promise.all([list.reload(), onChange?.()]);
    } catch (err) {
      if (err?.status !== 401) toast(`${what}: ${describeError(err)}`, 'error');
    } finally {
      btn.disabled = false;
    }
  };
  const actions = canManage ? h('div.page-actions',
    button('Skip batch', {
      small: true, iconName: 'chevron', id: 'dest-skip', title: 'Move past the batch that is failing; its messages are not sent',
      onclick: async (e) => {
        const btn = e.currentTarget;
        if (!(await confirm({
          title: 'Skip the failing batch?', confirmLabel: 'Skip batch', danger: true, iconName: 'chevron',
          text: 'The messages of the batch that is being retried are never sent to this destination; the next batch goes next. Nothing happens when no batch is waiting.',
        }))) return;
        await act('Could not skip', () => ctx.api.post(`${path}/skip`, {}), 'Batch skipped')({ currentTarget: btn });
      },
    }),
    button('Force retry', {
      small: true, iconName: 'replay', id: 'dest-force-retry', title: 'Send the waiting batch again now (and resume a destination its retries stopped)',
      onclick: act('Could not retry', () => ctx.api.post(`${path}/force-retry`, {}), 'Retrying now'),
    })) : null;
  const card = h('section.card', { 'aria-labelledby': 'dest-attempts-title', id: 'dest-attempts' },
    h('div.card-head', h('div', h('h2', { id: 'dest-attempts-title' }, 'Attempts'), h('span.sub', 'Each one a batch, newest first')), actions),
    list.el);
  list.reload();
  ctx.poll(() => (live() ? list.refresh() : false), 3000, { immediate: false });
  return { el: card, reload: () => list.reload() };
}

// ---------- polling ----------

const consumerRE = /^[a-zA-Z0-9\-_.]{1,256}$/;
const HIDDEN_TOKEN = 'hlpt_' + '•'.repeat(24);
// The API's default grace for a rotated poller token (oldTokenExpiry).
const OLD_TOKEN_MINUTES = 5;

/**
 * pollerTokenCard shows the polling endpoint's poller token (the API makes
 * it on first use): hidden until revealed, copied, rotated when canRotate
 * (the old one ends after the API's grace, or at once if asked). onToken
 * runs with the token while it is shown and with null while it is hidden,
 * so that the example can carry it. The token may only read this endpoint,
 * which is why it, and not the page's own credential, goes into the example.
 */
function pollerTokenCard(ctx, { appId, dest, canRotate, onToken }) {
  const path = `auth/app/${enc(appId)}/poller/${enc(dest.id)}/token`;
  let token = null;
  const value = h('code.secret-value', { id: 'poll-token-value', 'aria-live': 'polite' }, HIDDEN_TOKEN);
  const fetchToken = async () => {
    token = (await ctx.api.get(path)).token;
    return token;
  };
  const reveal = revealToggle({
    id: 'poll-token-reveal', load: fetchToken,
    onShown: (on) => {
      value.textContent = on ? token : HIDDEN_TOKEN;
      value.dataset.revealed = on ? '1' : '';
      onToken(on ? token : null);
    },
    onError: (err) => {
      if (err?.status !== 401) toast(`Could not read the token: ${describeError(err)}`, 'error');
    },
  });
  const copy = copyButton(async () => token || fetchToken());
  copy.id = 'poll-token-copy';
  const actions = [reveal.button, copy];
  if (canRotate) {
    const rotate = button('Rotate', {
      iconName: 'rotate', small: true, id: 'poll-token-rotate', onclick: async () => {
        const endNow = h('input', { type: 'checkbox', id: 'poll-token-end-now' });
        const ok = await confirm({
          title: 'Rotate the polling token?', confirmLabel: 'Rotate token', iconName: 'rotate',
          text: [
            'A new polling token is made now: give it to the programs that poll this endpoint.',
            `The current token keeps working for ${OLD_TOKEN_MINUTES} more minutes, so that they can switch without a refused poll.`,
            h('label.check', { for: endNow.id }, endNow,
              h('span.cell-stack', h('span', 'End the current token now'), h('span.desc', 'If it leaked: polls that use it are refused at once.'))),
          ],
        });
        if (!ok) return;
        rotate.disabled = true;
        try {
          const out = await ctx.api.post(`${path}/rotate`, { oldTokenExpiry: endNow.checked ? 0 : OLD_TOKEN_MINUTES * 60 });
          token = out.token;
          if (reveal.shown()) reveal.set(true);
          toast(endNow.checked ? 'Token rotated; the old one no longer works' : `Token rotated; the old one works for ${OLD_TOKEN_MINUTES} more minutes`);
        } catch (err) {
          if (err?.status !== 401) toast(`Could not rotate the token: ${describeError(err)}`, 'error');
        } finally {
          rotate.disabled = false;
        }
      },
    });
    actions.push(rotate);
  }
  return h('section.card', { 'aria-labelledby': 'poll-token-title', id: 'poll-token' },
    h('div.card-head', h('div', h('h2', { id: 'poll-token-title' }, 'Polling token'), h('span.sub', 'Reads this endpoint and nothing else'))),
    h('div.card-body.stack',
      h('div.secret', value, ...actions),
      h('p.note', 'Give it to the program that polls: it may only read this polling endpoint, so it cannot change any setting or read other messages. Keep it secret all the same.')));
}

/** pollPaused reports an API error that says the polling endpoint is paused. */
function pollPaused(err) {
  return err?.status === 409 && err.code === 'destination_disabled';
}

/**
 * pollerCards show how code reads a polling endpoint: the consumer URL on
 * the server's public address (base), a copyable curl example, and a
 * preview of the messages through the page's own session, which moves no
 * consumer. token says what the viewer may do with the endpoint's poller
 * token: when token.canView, a "Polling token" card reveals it (and
 * rotates it when token.canRotate), and the example then carries it, so
 * that Copy gives a working command; otherwise the example's Authorization
 * header is the placeholder tokenName, tokenHint says where to get one,
 * and token.denied (if any) why it is not shown. The page never puts its
 * own credential into the example. canResume says whether the viewer may
 * resume a paused endpoint (for the preview's words).
 */
export function pollerCards(ctx, { base, appId, dest, tokenName, tokenHint, token = {}, canResume }) {
  const consumer = h('input', { type: 'text', id: 'poll-consumer', value: 'my-consumer', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'poll-consumer-hint' });
  const consumerError = h('p.error', { id: 'poll-consumer-error', hidden: true }, 'Use 1–256 characters: letters, digits, - _ and .');
  const url = h('code.poll-url', { id: 'poll-url', dataset: { layout: '' } });
  const example = h('code', { id: 'poll-example' });
  const hint = h('p.note', { id: 'poll-token-hint' });
  const root = String(base).replace(/\/+$/, '');
  const consumerURL = () => `${root}/api/v1/app/${enc(appId)}/poller/${enc(dest.id)}/consumer/${enc(consumer.value.trim())}`;
  let real = null; // the poller token while it is revealed
  const draw = () => {
    const ok = consumerRE.test(consumer.value.trim());
    consumerError.hidden = ok;
    url.textContent = consumerURL();
    example.textContent = [
      `curl -H 'Authorization: Bearer ${real || `<${tokenName}>`}' \\`,
      `  '${consumerURL()}?limit=100'`,
    ].join('\n');
    example.dataset.token = real ? 'real' : 'placeholder';
    if (real) fill(hint, 'The example carries this endpoint’s polling token: copy it and run it as it is.');
    else if (token.canView) fill(hint, 'Replace ', h('code', `<${tokenName}>`), ' with ', tokenHint, ' Or reveal the polling token above: the example then carries it.');
    else fill(hint, 'Replace ', h('code', `<${tokenName}>`), ' with ', tokenHint, token.denied ? [' ', token.denied] : null);
  };
  consumer.addEventListener('input', draw);
  draw();
  const copyExample = copyButton(() => example.textContent, 'Copy example');
  copyExample.id = 'poll-copy';
  const copyURL = copyButton(() => url.textContent, 'Copy URL');
  copyURL.id = 'poll-copy-url';

  const preview = h('div', { id: 'poll-preview' });
  const previewBtn = button('Preview messages', {
    small: true, iconName: 'eye', id: 'poll-preview-btn', onclick: async () => {
      previewBtn.disabled = true;
      fill(preview, loading('Reading…'));
      try {
        const page = await ctx.api.get(`app/${enc(appId)}/poller/${enc(dest.id)}`, { limit: 10 });
        fill(preview, page.data.length
          ? [h('p.note', `The first ${page.data.length} message${page.data.length > 1 ? 's' : ''} this endpoint holds, as a poll returns them${page.done ? '' : ' (there are more)'}:`),
            jsonBlock(page, { label: 'Poll response' })]
          : h('p.note', { dataset: { empty: '1' } }, 'No message yet: a poll answers an empty list with "done": true.'));
      } catch (err) {
        if (pollPaused(err)) {
          fill(preview, h('div', { dataset: { paused: '1' } }, callout('info', [
            h('strong', canResume ? 'Paused — resume it to read messages.' : 'Paused: nothing can be read until it is resumed.'),
            ' Until then every poll answers 409 ', h('code', 'destination_disabled'), '; each consumer keeps its place, and new messages wait.',
          ], 'power')));
        } else if (err?.status !== 401) fill(preview, callout('error', describeError(err)));
      } finally {
        previewBtn.disabled = false;
      }
    },
  });

  const read = h('section.card', { 'aria-labelledby': 'poll-title', id: 'poller' },
    h('div.card-head', h('div', h('h2', { id: 'poll-title' }, 'Read the messages'), h('span.sub', 'From your own code, over HTTPS'))),
    h('div.card-body.stack',
      h('div.field', { dataset: { field: 'consumer' } },
        h('label', { for: 'poll-consumer' }, 'Consumer'),
        consumer,
        h('p.hint', { id: 'poll-consumer-hint' }, 'A name for the program that reads. Each consumer keeps its own place: every call returns what came after its previous call.'),
        consumerError),
      h('div.stack.tight',
        h('div.section-head', h('div.section-title', 'Consumer URL'), copyURL),
        url),
      h('div.stack.tight',
        h('div.section-head', h('div.section-title', 'Example'), copyExample),
        h('pre.snippet.wrap', example),
        hint),
      h('p.note', 'The answer is ', h('code', '{"data": [...], "iterator": "...", "done": true|false}'),
        ': messages oldest first. While ', h('code', 'done'), ' is false, call again at once; when it is true you are caught up, so wait a few seconds. To read again from a time, POST ',
        h('code', '{"after": "2025-01-01T00:00:00Z"}'), ' to the consumer URL followed by ', h('code', '/seek'), '. While the endpoint is paused a poll answers 409 ',
        h('code', 'destination_disabled'), '.'),
      h('div.stack.tight', h('div', previewBtn), preview)));
  if (!token.canView) return [read];
  const tokenEl = pollerTokenCard(ctx, {
    appId, dest, canRotate: token.canRotate, onToken: (t) => {
      real = t;
      draw();
    },
  });
  return [tokenEl, read];
}

/** destinationPath is the API path of one destination. */
export function destinationPath(appId, id) {
  return `app/${enc(appId)}/destination/${enc(id)}`;
}
