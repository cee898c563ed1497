// API keys: create (the key is shown once, with a copy button), list with
// prefix, created and last used, and revoke.

import { h, fill, button, field, loading, empty, errorState, when, toast, confirm, openDialog, copyButton, showFieldErrors, describeError } from '../../../portal/assets/ui.js';

const enc = encodeURIComponent;

export async function keysPage(ctx, main) {
  main.dataset.page = 'keys';
  const add = button('New API key', { kind: 'primary', iconName: 'plus', id: 'key-new', onclick: () => createDialog() });
  main.append(h('div.page-head',
    h('div', h('h1', { tabindex: '-1' }, 'API keys'), h('p.lede', 'Keys let your servers call the API as your organisation. A key is shown once, when it is made; revoked keys stop working at once.')),
    h('div.page-actions', add)));
  const card = h('section.card', { 'aria-labelledby': 'keys-title' }, loading());
  main.append(card);

  async function draw() {
    const keys = (await ctx.capi.get('keys')).data;
    if (!ctx.alive()) return;
    fill(card, h('div.card-head', h('h2', { id: 'keys-title' }, 'Keys'), h('span.sub', `${keys.filter((k) => !k.revokedAt).length} active`)),
      keys.length ? h('ul.list', { id: 'key-list', 'aria-label': 'API keys' }, keys.map((k) => h('li', h('div.row.key-row', { dataset: { keyId: k.id, revoked: k.revokedAt ? '1' : '' } },
        h('span.cell-stack', h('span.primary-text', k.name || 'Unnamed'), h('span.secondary-text.mono', `${k.prefix}…`)),
        h('span.secondary-text', h('span', 'Created '), when(k.createdAt)),
        h('span.secondary-text', k.lastUsedAt ? [h('span', 'Used '), when(k.lastUsedAt)] : 'Never used'),
        k.revokedAt ? h('span.pill.off', { title: new Date(k.revokedAt).toLocaleString() }, 'Revoked') : h('span.pill.ok', 'Active'),
        h('span.key-actions', k.revokedAt ? null : button('Revoke', { kind: 'danger', small: true, iconName: 'trash', dataset: { revoke: k.id }, onclick: () => revoke(k) }))))))
        : empty({ iconName: 'lock', title: 'No API keys', text: 'Create one for each server that calls the API.' }));
  }

  async function revoke(k) {
    if (!await confirm({ title: `Revoke ${k.name || k.prefix}?`, text: 'Servers using this key get 401 from the next request on. This cannot be undone.', confirmLabel: 'Revoke key', danger: true, iconName: 'trash' })) return;
    try {
      await ctx.capi.del(`keys/${enc(k.id)}`);
      toast('Key revoked');
      await draw();
    } catch (err) {
      toast(describeError(err), 'error');
    }
  }

  function createDialog() {
    const name = h('input', { type: 'text', id: 'key-name', name: 'name', required: true, placeholder: 'production server', autocomplete: 'off' });
    const form = h('form.stack', { id: 'key-form' }, field('Name', name, { name: 'name', hint: 'To tell the key apart later.' }));
    const save = button('Create key', { kind: 'primary', type: 'submit', id: 'key-create' });
    const cancel = button('Cancel');
    const { dlg } = openDialog({ id: 'key-dialog', title: 'New API key', body: form, foot: [cancel, save], onOpen: () => name.focus() });
    cancel.addEventListener('click', () => dlg.close('cancel'));
    save.addEventListener('click', () => form.requestSubmit());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (save.hidden) return;
      save.disabled = true;
      try {
        const k = await ctx.capi.post('keys', { name: name.value.trim() });
        fill(form, h('div.new-key',
          h('p', h('strong', 'Copy the key now: '), 'it is not shown again.'),
          h('code', { id: 'new-key-value' }, k.key),
          h('div', copyButton(() => k.key, 'Copy key'))));
        save.hidden = true;
        cancel.querySelector('.btn-label').textContent = 'Done';
        cancel.id = 'key-done';
        cancel.focus();
        await draw();
      } catch (err) {
        if (!showFieldErrors(form, err)) toast(describeError(err), 'error');
        save.disabled = false;
      }
    });
  }

  try {
    await draw();
  } catch (err) {
    if (err.status === 401) return;
    fill(card, errorState(err, () => ctx.navigate(location.hash)));
  }
}
