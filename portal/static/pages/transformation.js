// The endpoint's transformation: a JavaScript handler(webhook) edited in a
// small highlighted editor, tried on a sample with the simulate route, and
// saved with its switch. The editor is a textarea over a highlighted copy
// of its text (built with text nodes only, like every view here): no
// third-party component, no build step.

import { h, fill, button, toast, callout, jsonBlock, describeError } from '../ui.js';

const DEFAULT_CODE = `function handler(webhook) {
  // webhook: {method, url, eventType, payload, headers}
  // Change what you need and return it; set webhook.cancel = true to skip sending.
  return webhook;
}
`;

const KEYWORDS = new Set(('break case catch const continue default delete do else false for function if in instanceof let new null ' +
  'return switch this throw true try typeof undefined var void while').split(' '));

// One pass of a small JavaScript tokenizer: comments, strings (and
// template literals), numbers, words. Enough to colour code; it never
// decides anything.
const TOKENS = /(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|("(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?|`(?:\\.|[^`\\])*`?)|(\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|([A-Za-z_$][\w$]*)/g;

/** highlight fills pre with code, coloured. */
export function highlight(pre, code) {
  pre.replaceChildren();
  let last = 0;
  for (const m of code.matchAll(TOKENS)) {
    if (m.index > last) pre.append(code.slice(last, m.index));
    if (m[1]) pre.append(h('span.c', m[1]));
    else if (m[2]) pre.append(h('span.s', m[2]));
    else if (m[3]) pre.append(h('span.n', m[3]));
    else if (KEYWORDS.has(m[4])) pre.append(h('span.kw', m[4]));
    else if (m[4] === 'handler' || m[4] === 'webhook') pre.append(h('span.k', m[4]));
    else pre.append(m[4]);
    last = m.index + m[0].length;
  }
  // A trailing newline needs a character after it to take up its line.
  pre.append(code.slice(last) + '\n');
}

/** codeEditor returns {el, textarea}: a textarea kept in step with its highlighted copy. */
export function codeEditor(code, { id, label }) {
  const pre = h('pre.code-hl', { 'aria-hidden': 'true' });
  const ta = h('textarea.code-input', { id, spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off', 'aria-label': label, value: code, rows: 12 });
  const sync = () => {
    highlight(pre, ta.value);
    pre.scrollTop = ta.scrollTop;
    pre.scrollLeft = ta.scrollLeft;
  };
  ta.addEventListener('input', sync);
  ta.addEventListener('scroll', () => { pre.scrollTop = ta.scrollTop; pre.scrollLeft = ta.scrollLeft; });
  ta.addEventListener('keydown', (ev) => {
    // Tab indents (Escape then Tab still leaves the field, for keyboards).
    if (ev.key !== 'Tab' || ev.shiftKey || ta.dataset.escaped === '1') return;
    ev.preventDefault();
    ta.setRangeText('  ', ta.selectionStart, ta.selectionEnd, 'end');
    sync();
  });
  ta.addEventListener('keyup', (ev) => { ta.dataset.escaped = ev.key === 'Escape' ? '1' : ''; });
  sync();
  return { el: h('div.code-editor', pre, ta), textarea: ta };
}

/** transformationCard is the endpoint page's transformation section. */
export async function transformationCard(ctx, epPath) {
  const path = `${epPath}/transformation`;
  let current;
  try {
    current = await ctx.api.get(path);
  } catch (err) {
    return h('section.card', h('div.card-body', callout('error', describeError(err))));
  }
  const canEdit = ctx.can.manageEndpoint;
  const editor = codeEditor(current.code || DEFAULT_CODE, { id: 'tf-code', label: 'Transformation code' });
  const enabled = h('input', { type: 'checkbox', id: 'tf-enabled', checked: !!current.enabled, disabled: !canEdit });
  const eventType = h('input', { type: 'text', id: 'tf-event-type', value: 'invoice.paid', 'aria-label': 'Event type of the sample' });
  const payload = h('textarea', { id: 'tf-payload', rows: 5, spellcheck: 'false', 'aria-label': 'Payload of the sample',
    value: JSON.stringify({ id: 'in_123', amount: 4200 }, null, 2) });
  const result = h('div.tf-result', { id: 'tf-result', 'aria-live': 'polite' });

  const test = async () => {
    let sample;
    try {
      sample = JSON.parse(payload.value);
    } catch (err) {
      fill(result, callout('error', `The sample payload is not JSON: ${err.message}`));
      return;
    }
    fill(result, h('p.loading', h('span.spinner'), 'Running…'));
    try {
      const out = await ctx.api.post(`${path}/simulate`, { code: editor.textarea.value, eventType: eventType.value, payload: sample });
      fill(result,
        h('div.grid-2',
          h('div', h('h3', 'Input'), jsonBlock({ method: 'POST', eventType: eventType.value, payload: sample }, { label: 'Input' })),
          h('div', { id: 'tf-output', dataset: { cancel: out.cancel ? '1' : '0' } }, h('h3', 'Output'),
            out.cancel
              ? callout('info', 'Canceled: this webhook would not be sent.')
              : [h('p.mono', `${out.method || 'POST'} ${out.url}`), out.headers ? jsonBlock(out.headers, { label: 'Headers' }) : null,
                jsonBlock(out.payload, { label: 'Payload' })])));
    } catch (err) {
      const detail = Array.isArray(err.detail) ? err.detail.map((d) => d.msg).join('; ') : describeError(err);
      fill(result, h('div', { id: 'tf-error' }, callout('error', detail)));
    }
  };
  const save = async () => {
    try {
      await ctx.api.patch(path, { code: editor.textarea.value, enabled: enabled.checked });
      toast(enabled.checked ? 'Transformation saved and on' : 'Transformation saved (off)');
      fill(result);
    } catch (err) {
      const detail = Array.isArray(err.detail) ? err.detail.map((d) => d.msg).join('; ') : describeError(err);
      fill(result, h('div', { id: 'tf-error' }, callout('error', detail)));
    }
  };

  return h('section.card', { 'aria-labelledby': 'tf-title', id: 'transformation' },
    h('div.card-head',
      h('div', h('h2', { id: 'tf-title' }, 'Transformation'),
        h('span.sub', 'JavaScript that reshapes each webhook before it is sent')),
      h('label.switch', enabled, ' Enabled')),
    h('div.card-body.stack',
      editor.el,
      h('div.grid-2',
        h('div.field', h('label', { for: 'tf-event-type' }, 'Sample event type'), eventType),
        h('div.field', h('label', { for: 'tf-payload' }, 'Sample payload'), payload)),
      h('div.page-actions',
        button('Test', { id: 'tf-test', iconName: 'send', onclick: test }),
        canEdit ? button('Save', { id: 'tf-save', kind: 'primary', onclick: save }) : null),
      result));
}
