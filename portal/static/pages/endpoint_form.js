// Add or edit an endpoint: URL, description, the event types it listens
// to (picked from the catalog), channels, rate limit, the most deliveries
// in flight at once (the lane's cap) and custom headers.

import { h, button, field, fill, loading, errorState, showFieldErrors, toast, callout } from '../ui.js';
import { eventTypesField } from './event_types_field.js';

function headerRow(name = '', value = '', { sensitive = false } = {}) {
  const n = h('input', { type: 'text', name: 'header-name', value: name, placeholder: 'X-Header-Name', 'aria-label': 'Header name', autocomplete: 'off' });
  const v = h('input', {
    type: 'text', name: 'header-value', value, autocomplete: 'off', 'aria-label': 'Header value',
    placeholder: sensitive ? 'Hidden — type to replace' : 'value',
  });
  const row = h('div.header-row', { dataset: { original: name, sensitive: sensitive ? '1' : '' } }, n, v);
  row.append(button('', { kind: 'ghost.icon-only', iconName: 'trash', title: 'Remove this header', onclick: () => row.remove() }));
  return row;
}

export async function endpointFormPage(ctx, main, id) {
  main.dataset.page = 'endpoint-form';
  const editing = Boolean(id);
  const title = editing ? 'Edit endpoint' : 'Add endpoint';
  main.append(
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/endpoints' }, 'Endpoints'), '/', editing ? h('a', { href: `#/endpoints/${encodeURIComponent(id)}` }, 'Endpoint') : null, editing ? '/' : null, h('span', title)),
    h('div.page-head', h('div', h('h1', { tabindex: '-1' }, title),
      h('p.lede', 'Webhooks are sent as signed POST requests. Your endpoint should answer with a 2xx status within 30 seconds.'))));
  const body = h('div', loading());
  main.append(body);
  if (!ctx.can.manageEndpoint) {
    fill(body, callout('warn', 'Your access does not allow adding or changing endpoints.'));
    return;
  }

  let ep = null;
  let headers = { headers: {}, sensitive: [] };
  let catalog = [];
  try {
    [catalog, ep, headers] = await Promise.all([
      ctx.catalog(),
      editing ? ctx.api.get(ctx.appPath(`endpoint/${encodeURIComponent(id)}`)) : null,
      editing ? ctx.api.get(ctx.appPath(`endpoint/${encodeURIComponent(id)}/headers`)) : headers,
    ]);
  } catch (err) {
    if (err.status === 401) return;
    fill(body, h('div.card', errorState(err, () => ctx.navigate(location.hash))));
    return;
  }
  if (!ctx.alive()) return;

  const url = h('input', { type: 'url', id: 'ep-url', name: 'url', required: true, placeholder: 'https://example.com/webhooks', value: ep?.url || '', autocomplete: 'off', inputmode: 'url' });
  const description = h('input', { type: 'text', id: 'ep-description', name: 'description', value: ep?.description || '', placeholder: 'What receives these webhooks?' });
  const channels = h('input', { type: 'text', id: 'ep-channels', name: 'channels', value: (ep?.channels || []).join(', '), placeholder: 'e.g. project-123, eu' });
  const rate = h('input', { type: 'number', id: 'ep-rate', name: 'throttleRate', min: 1, max: 65535, step: 1, value: ep?.throttleRate ?? '', placeholder: 'No limit' });
  const maxConc = h('input', { type: 'number', id: 'ep-max-concurrency', name: 'maxConcurrency', min: 1, max: 1000, step: 1, inputmode: 'numeric', value: ep?.maxConcurrency ?? '', placeholder: 'Default (64)' });

  // Event types, from the catalog.
  const types = eventTypesField(catalog, ep?.eventTypes, { id: 'ep-event-types', what: 'this endpoint' });
  const typesField = types.el;

  // Custom headers.
  const headerRows = h('div.header-rows', { id: 'ep-headers' });
  for (const [k, v] of Object.entries(headers.headers || {})) headerRows.append(headerRow(k, v));
  for (const k of headers.sensitive || []) headerRows.append(headerRow(k, '', { sensitive: true }));
  const addHeader = button('Add header', { iconName: 'plus', small: true, id: 'add-header', onclick: () => {
    const row = headerRow();
    headerRows.append(row);
    row.querySelector('input').focus();
  } });
  const headersField = h('div.field.wide', { dataset: { field: 'headers' } },
    h('span.label', 'Custom headers'),
    h('p.hint', 'Sent with every webhook to this endpoint, for example an authorization token your server expects.'),
    headerRows, h('div', addHeader), h('p.error', { hidden: true }));

  const save = button(editing ? 'Save changes' : 'Create endpoint', { kind: 'primary', type: 'submit', id: 'ep-save', iconName: 'check' });
  const cancel = h('a.btn', { href: editing ? `#/endpoints/${encodeURIComponent(id)}` : '#/endpoints' }, 'Cancel');
  const formError = h('div', { role: 'alert' });
  const form = h('form.card', { id: 'endpoint-form', novalidate: true, 'aria-label': title },
    h('div.card-body.form-grid',
      field('Endpoint URL', url, { wide: true, name: 'url', hint: 'The https URL your server listens on.' }),
      field('Description', description, { wide: true, name: 'description' }),
      typesField,
      field('Channels', channels, { name: 'channels', hint: 'Optional. Comma-separated; the endpoint then only gets messages sent to one of them.' }),
      field('Rate limit (per second)', rate, { name: 'throttleRate', hint: 'Optional. The most webhooks sent to this endpoint each second.' }),
      field('Max concurrent deliveries', maxConc, { name: 'maxConcurrency', hint: 'Optional, 1–1000. The most webhooks in flight to this endpoint at once; blank: 64. Fewer are sent while your server answers slowly or with 429/503.' }),
      headersField,
      h('div.wide', formError)),
    h('div.dialog-foot', cancel, save));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fill(formError);
    if (!url.value.trim()) {
      showFieldErrors(form, { fields: [{ loc: ['body', 'url'], msg: 'Enter the URL that should receive webhooks.' }] });
      return;
    }
    const eventTypes = types.values();
    const chans = channels.value.split(',').map((s) => s.trim()).filter(Boolean);
    const rateVal = rate.value.trim() === '' ? null : Number(rate.value);
    const maxRaw = maxConc.value.trim();
    if (maxConc.validity.badInput || (maxRaw !== '' && !/^-?\d+$/.test(maxRaw))) {
      showFieldErrors(form, { fields: [{ loc: ['body', 'maxConcurrency'], msg: 'Enter a whole number from 1 to 1000, or leave it blank for the default.' }] });
      return;
    }
    const maxVal = maxRaw === '' ? null : Number(maxRaw);
    // Headers: the rows as typed; for an edit, what changed.
    const rows = [...headerRows.querySelectorAll('.header-row')].map((r) => ({
      name: r.querySelector('[name=header-name]').value.trim(),
      value: r.querySelector('[name=header-value]').value,
      original: r.dataset.original, sensitive: r.dataset.sensitive === '1',
    })).filter((r) => r.name !== '');
    save.disabled = true;
    try {
      let saved;
      if (!editing) {
        const headersIn = Object.fromEntries(rows.map((r) => [r.name, r.value]));
        saved = await ctx.api.post(ctx.appPath('endpoint'), {
          url: url.value.trim(), description: description.value.trim(),
          eventTypes: eventTypes.length ? eventTypes : undefined, channels: chans.length ? chans : undefined,
          throttleRate: rateVal ?? undefined, maxConcurrency: maxVal ?? undefined, headers: rows.length ? headersIn : undefined,
        });
      } else {
        saved = await ctx.api.patch(ctx.appPath(`endpoint/${encodeURIComponent(id)}`), {
          url: url.value.trim(), description: description.value.trim(),
          eventTypes: eventTypes.length ? eventTypes : null, channels: chans.length ? chans : null, throttleRate: rateVal,
          maxConcurrency: maxVal,
        });
        const patch = {};
        const kept = new Set();
        for (const r of rows) {
          kept.add(r.original);
          if (r.original && r.original !== r.name) patch[r.original] = null;
          if (r.sensitive && r.value === '' && r.original === r.name) continue; // unchanged secret value
          if (!r.sensitive && r.original === r.name && headers.headers[r.name] === r.value) continue;
          patch[r.name] = r.value;
        }
        for (const k of [...Object.keys(headers.headers || {}), ...(headers.sensitive || [])]) {
          if (!kept.has(k)) patch[k] = null;
        }
        if (Object.keys(patch).length) {
          await ctx.api.patch(ctx.appPath(`endpoint/${encodeURIComponent(id)}/headers`), { headers: patch });
        }
      }
      toast(editing ? 'Endpoint saved' : 'Endpoint created');
      ctx.navigate(`#/endpoints/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      if (err.status === 401) return;
      save.disabled = false;
      if (!showFieldErrors(form, err)) fill(formError, callout('error', err.message || 'The endpoint could not be saved.'));
    }
  });
  fill(body, form);
  if (!editing) url.focus();
}
