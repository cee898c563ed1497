// Add or edit a destination: a FIFO endpoint (URL, batch size, how long
// to wait to fill a batch) or a polling endpoint, and the event types it
// gets. A RabbitMQ destination is set up through the API (its broker URI
// holds credentials the portal never shows), so it is not edited here.

import { h, button, field, fill, loading, errorState, showFieldErrors, toast, callout } from '../ui.js';
import { eventTypesField } from './event_types_field.js';
import { TYPE_LABELS } from './destination_parts.js';

const enc = encodeURIComponent;

const TYPES = [
  ['fifoEndpoint', 'Your server receives the events in order, in batches: a batch is sent only after the one before it was accepted.'],
  ['pollingEndpoint', 'Your code fetches the events when it wants, over HTTPS: no inbound port to open.'],
];

// wholeNumber reads a number field: the number, or null after marking the
// field when it is not a whole number in [min, max].
function wholeNumber(form, input, name, min, max, msg) {
  const raw = input.value.trim();
  const n = Number(raw);
  if (input.validity.badInput || !/^-?\d+$/.test(raw) || n < min || n > max) {
    showFieldErrors(form, { fields: [{ loc: ['body', name], msg }] });
    return null;
  }
  return n;
}

// fieldErrors points the API's config.url errors (a create says
// ["body", "config", "url"], an edit ["body", "url"]) at the URL field.
function fieldErrors(err) {
  const fields = (err?.fields || []).map((d) => (d.loc?.[1] === 'url' || d.loc?.[1] === 'config' ? { ...d, loc: ['body', 'config'] } : d));
  return { ...err, fields };
}

export async function destinationFormPage(ctx, main, id) {
  main.dataset.page = 'destination-form';
  const editing = Boolean(id);
  const title = editing ? 'Edit destination' : 'Add destination';
  const path = editing ? ctx.appPath(`destination/${enc(id)}`) : null;
  main.append(
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/destinations' }, 'Destinations'), '/',
      editing ? [h('a', { href: `#/destinations/${enc(id)}` }, 'Destination'), '/'] : null, h('span', title)),
    h('div.page-head', h('div', h('h1', { tabindex: '-1' }, title),
      h('p.lede', 'A destination gets the same events as your endpoints, another way.'))));
  const body = h('div', loading());
  main.append(body);
  if (!ctx.can.manageEndpoint) {
    fill(body, callout('warn', 'Your access does not allow adding or changing destinations.'));
    return;
  }
  let d = null;
  let catalog = [];
  try {
    [catalog, d] = await Promise.all([ctx.catalog(), editing ? ctx.api.get(path) : null]);
  } catch (err) {
    if (err.status === 401) return;
    fill(body, h('div.card', errorState(err, () => ctx.navigate(location.hash))));
    return;
  }
  if (!ctx.alive()) return;
  if (d && !TYPES.some(([t]) => t === d.type)) {
    fill(body, callout('info', `A ${TYPE_LABELS[d.type] || d.type} destination is set up through the API; here you can pause, resume or delete it.`));
    return;
  }

  let type = d?.type || 'fifoEndpoint';
  const typeChoice = h('div.type-choice', { role: 'radiogroup', 'aria-labelledby': 'dest-type-label', id: 'dest-type' },
    TYPES.map(([t, text]) => h('label.check.type-option', { dataset: { type: t } },
      h('input', { type: 'radio', name: 'type', value: t, checked: t === type, disabled: editing, onchange: () => { type = t; showType(); } }),
      h('span.cell-stack', h('span.type-name', TYPE_LABELS[t]), h('span.desc', text)))));
  const typeField = h('div.field.wide', { dataset: { field: 'type' } },
    h('span.label', { id: 'dest-type-label' }, 'Type'), typeChoice,
    editing ? h('p.hint', 'The type cannot change; add another destination instead.') : null,
    h('p.error', { hidden: true }));

  const url = h('input', { type: 'url', id: 'dest-url-input', name: 'url', value: d?.config?.url || '', placeholder: 'https://example.com/webhooks/batch', autocomplete: 'off', inputmode: 'url' });
  const batch = h('input', { type: 'number', id: 'dest-batch-size', name: 'batchSize', min: 1, max: 1000, step: 1, inputmode: 'numeric', value: d?.batchSize ?? 100 });
  const wait = h('input', { type: 'number', id: 'dest-max-wait', name: 'maxWaitSecs', min: 0, max: 300, step: 1, inputmode: 'numeric', value: d?.maxWaitSecs ?? 0 });
  const fifoFields = [
    field('Endpoint URL', url, { wide: true, name: 'config', hint: 'Each batch is POSTed here as a JSON array of events, signed once with this destination’s secret.' }),
    field('Batch size', batch, { name: 'batchSize', hint: '1–1000 messages a request.' }),
    field('Max wait (seconds)', wait, { name: 'maxWaitSecs', hint: '0–300. How long to wait for a batch to fill up before sending it; 0 sends at once.' }),
  ];
  const types = eventTypesField(catalog, d?.eventTypes, { id: 'dest-event-types', what: 'this destination' });
  const showType = () => {
    for (const f of fifoFields) f.hidden = type !== 'fifoEndpoint';
  };
  showType();

  const save = button(editing ? 'Save changes' : 'Create destination', { kind: 'primary', type: 'submit', id: 'dest-save', iconName: 'check' });
  const cancel = h('a.btn', { href: editing ? `#/destinations/${enc(id)}` : '#/destinations' }, 'Cancel');
  const formError = h('div', { role: 'alert', id: 'dest-form-error' });
  const form = h('form.card', { id: 'dest-form', novalidate: true, 'aria-label': title },
    h('div.card-body.form-grid', typeField, fifoFields, types.el, h('div.wide', formError)),
    h('div.dialog-foot', cancel, save));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fill(formError);
    showFieldErrors(form, null);
    const eventTypes = types.values();
    let body;
    if (type === 'fifoEndpoint') {
      if (!url.value.trim()) {
        showFieldErrors(form, { fields: [{ loc: ['body', 'config'], msg: 'Enter the URL that should receive the batches.' }] });
        return;
      }
      const batchSize = wholeNumber(form, batch, 'batchSize', 1, 1000, 'Enter a whole number from 1 to 1000.');
      if (batchSize === null) return;
      const maxWaitSecs = wholeNumber(form, wait, 'maxWaitSecs', 0, 300, 'Enter a whole number of seconds from 0 to 300.');
      if (maxWaitSecs === null) return;
      body = { config: { url: url.value.trim() }, batchSize, maxWaitSecs };
    } else {
      body = {};
    }
    save.disabled = true;
    try {
      let saved;
      if (editing) {
        saved = await ctx.api.patch(path, { ...body, eventTypes: eventTypes.length ? eventTypes : null });
      } else {
        saved = await ctx.api.post(ctx.appPath('destination'), { type, ...body, eventTypes: eventTypes.length ? eventTypes : undefined });
      }
      toast(editing ? 'Destination saved' : 'Destination created');
      ctx.navigate(`#/destinations/${enc(saved.id)}`);
    } catch (err) {
      if (err.status === 401) return;
      save.disabled = false;
      if (!showFieldErrors(form, fieldErrors(err))) fill(formError, callout('error', err.message || 'The destination could not be saved.'));
    }
  });
  fill(body, form);
  if (!editing) form.querySelector('input[name="type"]:checked')?.focus();
}
