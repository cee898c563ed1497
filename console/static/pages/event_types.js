// Event types: the catalog your customers see in their portal. Create,
// edit and archive; the JSON Schema editor checks the schema as you type
// (valid JSON, an object, a known "type", examples that are objects) and
// shows its first example as the portal will. Import from an OpenAPI
// document is in import_openapi.js.

import { h, fill, button, field, loading, empty, errorState, toast, openDialog, showFieldErrors, jsonBlock, describeError } from '../../../portal/assets/ui.js';
import { importDialog } from './import_openapi.js';

const enc = encodeURIComponent;
const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'];
const STARTER = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], examples: [{ id: 'obj_123' }] };

/**
 * checkSchema returns the problems of a schema's text ([] when fine). It
 * is a quick structural check that catches the usual mistakes before the
 * API sees them; it is not a full JSON Schema validator.
 */
export function checkSchema(text) {
  if (!text.trim()) return [];
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return [`Not valid JSON: ${e.message}`];
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return ['A schema is a JSON object.'];
  const out = [];
  const walk = (s, path) => {
    if (s === null || typeof s !== 'object' || Array.isArray(s)) return;
    if ('type' in s) {
      const ts = Array.isArray(s.type) ? s.type : [s.type];
      for (const t of ts) if (!TYPES.includes(t)) out.push(`${path || 'schema'}: unknown type “${t}”`);
    }
    if ('required' in s && !(Array.isArray(s.required) && s.required.every((r) => typeof r === 'string'))) out.push(`${path || 'schema'}: required must be a list of names`);
    if ('examples' in s && !Array.isArray(s.examples)) out.push(`${path || 'schema'}: examples must be a list`);
    if (s.properties && typeof s.properties === 'object') for (const [k, p] of Object.entries(s.properties)) walk(p, `${path ? path + '.' : ''}${k}`);
    if (s.items) walk(s.items, `${path}[]`);
  };
  walk(v, '');
  if (v.type === 'object' && Array.isArray(v.examples)) {
    for (const ex of v.examples) if (ex === null || typeof ex !== 'object' || Array.isArray(ex)) out.push('examples of an object schema must be objects');
  }
  return out;
}

function latestSchema(schemas) {
  if (!schemas || typeof schemas !== 'object') return null;
  const versions = Object.keys(schemas).sort((a, b) => Number(a) - Number(b));
  return versions.length ? schemas[versions.at(-1)] : null;
}

function editorDialog(ctx, et, onSaved) {
  const editing = Boolean(et);
  const name = h('input', { type: 'text', id: 'et-name', name: 'name', required: true, value: et?.name || '', placeholder: 'invoice.paid', disabled: editing, autocomplete: 'off' });
  const desc = h('input', { type: 'text', id: 'et-description', name: 'description', value: et?.description || '', placeholder: 'What happened' });
  const schema = latestSchema(et?.schemas);
  const text = h('textarea.schema-editor', { id: 'et-schema', name: 'schemas', spellcheck: 'false' });
  text.value = JSON.stringify(schema || (editing ? {} : STARTER), null, 2);
  if (editing && !schema) text.value = '';
  const problems = h('ul.error', { id: 'et-schema-problems', 'aria-live': 'polite' });
  const example = h('div', { id: 'et-example' });
  const save = button(editing ? 'Save' : 'Create event type', { kind: 'primary', type: 'submit', id: 'et-save' });
  const check = () => {
    const ps = checkSchema(text.value);
    fill(problems, ps.map((p) => h('li', p)));
    problems.hidden = !ps.length;
    text.setAttribute('aria-invalid', ps.length ? 'true' : 'false');
    save.disabled = ps.length > 0;
    let ex = null;
    if (!ps.length && text.value.trim()) ex = JSON.parse(text.value).examples?.[0];
    fill(example, ex !== undefined && ex !== null ? [h('h3', 'Example'), jsonBlock(ex, { label: 'Example payload' })] : h('p.note', 'Add "examples": [{…}] to show your customers a sample payload.'));
  };
  text.addEventListener('input', check);
  const form = h('form.stack', { id: 'et-form' },
    field('Name', name, { name: 'name', hint: editing ? 'Names cannot change.' : 'Letters, digits, dots, dashes and underscores.' }),
    field('Description', desc, { name: 'description' }),
    field('JSON Schema', text, { name: 'schemas', hint: 'The payload’s schema (draft 7). Leave empty for none.' }),
    problems, example);
  const cancel = button('Cancel');
  const { dlg } = openDialog({ id: 'et-dialog', wide: true, title: editing ? `Edit ${et.name}` : 'New event type', body: form, foot: [cancel, save], onOpen: () => (editing ? desc : name).focus() });
  check();
  cancel.addEventListener('click', () => dlg.close('cancel'));
  save.addEventListener('click', () => form.requestSubmit());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (checkSchema(text.value).length) return;
    const schemas = text.value.trim() ? { 1: JSON.parse(text.value) } : null;
    save.disabled = true;
    try {
      if (editing) await ctx.api.patch(`event-type/${enc(et.name)}`, { description: desc.value.trim(), schemas });
      else await ctx.api.post('event-type', { name: name.value.trim(), description: desc.value.trim(), schemas: schemas || undefined });
      dlg.close('ok');
      toast(editing ? 'Event type saved' : 'Event type created');
      onSaved();
    } catch (err) {
      if (!showFieldErrors(form, err)) toast(describeError(err), 'error');
      save.disabled = false;
    }
  });
}

export async function eventTypesPage(ctx, main) {
  main.dataset.page = 'event-types';
  const reload = () => ctx.navigate(location.hash);
  const add = button('New event type', { kind: 'primary', iconName: 'plus', id: 'et-new', onclick: () => editorDialog(ctx, null, () => { ctx.catalog({ fresh: true }); reload(); }) });
  const importBtn = button('Import from OpenAPI', { iconName: 'book', id: 'et-import', onclick: async () => {
    try {
      importDialog(ctx, await ctx.catalog(), () => { ctx.catalog({ fresh: true }); reload(); });
    } catch (err) {
      if (err.status !== 401) toast(describeError(err), 'error');
    }
  } });
  main.append(h('div.page-head',
    h('div', h('h1', { tabindex: '-1' }, 'Event types'), h('p.lede', 'The catalog of events you send. Your customers see it in their portal and subscribe endpoints to them.')),
    h('div.page-actions', importBtn, add)));
  const card = h('section.card', { 'aria-labelledby': 'et-title' }, loading());
  main.append(card);
  let types;
  try {
    types = await ctx.catalog({ fresh: true });
  } catch (err) {
    if (err.status === 401) return;
    fill(card, errorState(err, reload));
    return;
  }
  if (!ctx.alive()) return;
  const changed = () => {
    ctx.catalog({ fresh: true });
    reload();
  };
  async function setArchived(et, archived) {
    try {
      await ctx.api.patch(`event-type/${enc(et.name)}`, { archived });
      toast(archived ? `${et.name} archived` : `${et.name} restored`);
      changed();
    } catch (err) {
      toast(describeError(err), 'error');
    }
  }
  fill(card, h('div.card-head', h('h2', { id: 'et-title' }, 'Catalog'), h('span.sub', `${types.filter((t) => !t.archived).length} active`)),
    types.length ? h('ul.list', { id: 'et-list', 'aria-label': 'Event types' }, types.map((et) => h('li', h('div.row.et-row', { dataset: { eventType: et.name, archived: et.archived ? '1' : '' } },
      h('span.cell-stack', h('span.primary-text.mono', et.name), h('span.secondary-text', [et.description || 'No description', latestSchema(et.schemas) ? ' · has a schema' : ''].join(''))),
      et.archived ? h('span.pill.off', 'Archived') : h('span.pill.ok', 'Active'),
      h('span.page-actions',
        button('Edit', { small: true, iconName: 'edit', dataset: { edit: et.name }, onclick: () => editorDialog(ctx, et, changed) }),
        button(et.archived ? 'Restore' : 'Archive', { small: true, dataset: { archive: et.name }, onclick: () => setArchived(et, !et.archived) }))))))
      : empty({ iconName: 'book', title: 'No event types yet', text: 'Add the events your product sends, such as invoice.paid, with a schema and an example.' }));
}
