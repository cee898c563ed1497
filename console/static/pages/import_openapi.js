// Import event types from an OpenAPI 3.x document (JSON or YAML): paste it
// or pick a file, preview what would change (the API's dryRun), then
// import. The document goes to POST /api/v1/event-type/import/openapi as
// specRaw, which the API reads as YAML (a superset of JSON), so one field
// takes both. Every entry of the document's `webhooks` (or `x-webhooks`)
// becomes an event type named by its key.

import { h, fill, button, field, callout, toast, openDialog, jsonBlock, describeError } from '../../../portal/assets/ui.js';

/** maxFileBytes bounds a picked file: the API refuses big bodies anyway. */
const maxFileBytes = 1 << 20;

/** importError is the text for a failed import: a 422 lists its reasons. */
function importError(err) {
  if (err?.status === 422 && err.fields?.length) return `The document was not accepted: ${err.fields.map((d) => d.msg).join(' · ')}`;
  return describeError(err);
}

/**
 * change says what the import does to one event type of the document,
 * given the catalog: creates it, updates it, or restores an archived one.
 */
function change(byName, name) {
  const cur = byName.get(name);
  if (!cur) return ['new', 'New'];
  return cur.archived ? ['restore', 'Restored and updated'] : ['update', 'Updated'];
}

/**
 * importDialog opens the import form. catalog is the tenant's event types
 * (archived ones too), used to tell new types from updated ones in the
 * preview; onImported runs after a successful import.
 */
export function importDialog(ctx, catalog, onImported) {
  const byName = new Map(catalog.map((et) => [et.name, et]));
  const text = h('textarea.schema-editor', { id: 'eti-spec', name: 'specRaw', spellcheck: 'false', required: true,
    placeholder: 'openapi: 3.1.0\ninfo: {title: My events, version: "1"}\nwebhooks:\n  invoice.paid:\n    post: …' });
  const file = h('input', { type: 'file', id: 'eti-file', name: 'file', accept: '.json,.yaml,.yml,application/json,application/yaml,text/yaml' });
  const replaceAll = h('input', { type: 'checkbox', id: 'eti-replace-all', name: 'replaceAll' });
  const problem = h('div', { id: 'eti-error', hidden: true });
  const result = h('div', { id: 'eti-preview', 'aria-live': 'polite' });
  const preview = button('Preview', { id: 'eti-preview-btn', iconName: 'eye' });
  const submit = button('Import', { kind: 'primary', type: 'submit', id: 'eti-import' });
  const cancel = button('Cancel');

  const form = h('form.stack', { id: 'eti-form', 'aria-label': 'Import event types from an OpenAPI document' },
    field('OpenAPI document (JSON or YAML)', text, { name: 'specRaw', hint: 'An OpenAPI 3.x document. Each entry of its webhooks section becomes an event type; the request body’s JSON schema and example come along.' }),
    field('Or read it from a file', file, { name: 'file', hint: 'The file’s text goes into the field above; nothing is sent until you preview or import.' }),
    h('label.check', { for: replaceAll.id }, replaceAll, h('span', 'Archive the event types the document does not name (replace the catalog)')),
    problem, result);

  const { dlg } = openDialog({ id: 'eti-dialog', wide: true, title: 'Import from OpenAPI', body: form, foot: [cancel, preview, submit], onOpen: () => text.focus() });

  const showError = (err) => {
    fill(problem, callout('error', importError(err)));
    problem.hidden = false;
    text.setAttribute('aria-invalid', 'true');
  };
  const clearError = () => {
    problem.hidden = true;
    fill(problem);
    text.removeAttribute('aria-invalid');
  };
  const busy = (on) => {
    preview.disabled = on;
    submit.disabled = on;
  };
  const body = (dryRun) => ({ specRaw: text.value, dryRun, replaceAll: replaceAll.checked });
  const missing = () => {
    if (text.value.trim()) return false;
    showError(new Error('Paste an OpenAPI document first, or pick a file.'));
    text.focus();
    return true;
  };

  text.addEventListener('input', () => {
    clearError();
    fill(result);
  });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    if (f.size > maxFileBytes) {
      showError(new Error(`${f.name} is larger than 1 MiB.`));
      return;
    }
    text.value = await f.text();
    clearError();
    fill(result);
    text.focus();
  });

  preview.addEventListener('click', async () => {
    if (missing()) return;
    clearError();
    busy(true);
    try {
      const out = await ctx.api.post('event-type/import/openapi', body(true));
      const types = out?.data?.to_modify || [];
      const named = new Set(types.map((t) => t.name));
      const archived = replaceAll.checked ? catalog.filter((et) => !et.archived && !named.has(et.name)) : [];
      fill(result,
        h('h3', { id: 'eti-preview-title' }, `${types.length} event type${types.length === 1 ? '' : 's'} in the document`),
        h('ul.list', { id: 'eti-preview-list', 'aria-labelledby': 'eti-preview-title' }, types.map((t) => {
          const [kind, label] = change(byName, t.name);
          const schema = t.schemas?.['1'];
          return h('li', h('div.row.et-row', { dataset: { previewType: t.name, change: kind } },
            h('span.cell-stack', h('span.primary-text.mono', t.name),
              h('span.secondary-text', [t.description || 'No description', schema ? ' · has a schema' : '', schema?.examples?.length ? ' · has an example' : '', t.deprecated ? ' · deprecated' : ''].join(''))),
            h(`span.pill${kind === 'new' ? '.ok' : ''}`, label),
            schema?.examples?.length ? h('details', h('summary', 'Example'), jsonBlock(schema.examples[0], { label: `Example payload of ${t.name}` })) : h('span')));
        }),
        archived.map((et) => h('li', h('div.row.et-row', { dataset: { previewType: et.name, change: 'archive' } },
          h('span.cell-stack', h('span.primary-text.mono', et.name), h('span.secondary-text', 'Not in the document')),
          h('span.pill.off', 'Archived'), h('span'))))));
      result.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      if (err.status !== 401) showError(err);
    } finally {
      busy(false);
    }
  });

  cancel.addEventListener('click', () => dlg.close('cancel'));
  submit.addEventListener('click', () => form.requestSubmit());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (missing()) return;
    clearError();
    busy(true);
    try {
      const out = await ctx.api.post('event-type/import/openapi', body(false));
      const n = out?.data?.modified?.length || 0;
      dlg.close('ok');
      toast(`Imported ${n} event type${n === 1 ? '' : 's'}`);
      onImported(out?.data?.modified || []);
    } catch (err) {
      if (err.status !== 401) showError(err);
      busy(false);
    }
  });
}
