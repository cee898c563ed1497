// The endpoint's transformation: a JavaScript handler(webhook) edited in
// the code editor (code_editor.js: CodeJar and Prism, vendored), tried on
// a sample with the simulate route, and saved with its switch. The portal's
// endpoint page and the console's application page (a dialog) both show it.

import { h, fill, button, toast, callout, jsonBlock, describeError } from '../ui.js';
import { codeEditor } from '../code_editor.js';

const DEFAULT_CODE = `function handler(webhook) {
  // webhook: {method, url, eventType, payload, headers}
  // Change what you need and return it; set webhook.cancel = true to skip sending.
  return webhook;
}
`;

/**
 * transformationCard is an endpoint's transformation section; epPath is
 * the endpoint's API path. canEdit (by default the portal session's
 * right to manage endpoints) shows the switch and Save.
 */
export async function transformationCard(ctx, epPath, { canEdit = ctx.can?.manageEndpoint } = {}) {
  const path = `${epPath}/transformation`;
  let current;
  try {
    current = await ctx.api.get(path);
  } catch (err) {
    return h('section.card', h('div.card-body', callout('error', describeError(err))));
  }
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
      const out = await ctx.api.post(`${path}/simulate`, { code: editor.value(), eventType: eventType.value, payload: sample });
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
      await ctx.api.patch(path, { code: editor.value(), enabled: enabled.checked });
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
