// Applications: list, search, create; one application's page with rename,
// delete, its endpoints (add one here) and recent messages, and "open the
// portal as this customer".

import { h, fill, button, field, loading, empty, errorState, when, toast, confirm, openDialog, showFieldErrors, copyButton, deliveryStates, describeError } from '../../../portal/assets/ui.js';
import { pagedList } from '../../../portal/assets/list.js';
import { securityCard } from '../../../portal/assets/pages/endpoint_security.js';
import { transformationCard } from '../../../portal/assets/pages/transformation.js';
import { destinationsSection } from './app_destinations.js';

const enc = encodeURIComponent;

function appRow(a) {
  return h('a.row.app-row', { href: `#/apps/${enc(a.id)}`, dataset: { appId: a.id } },
    h('span.cell-stack', h('span.primary-text', a.name), h('span.secondary-text.mono', a.id)),
    h('span.secondary-text.mono', a.uid || '—'),
    h('span.secondary-text', when(a.createdAt)),
    h('span.chev', '›'));
}

function createAppDialog(ctx) {
  const name = h('input', { type: 'text', id: 'app-name-input', name: 'name', required: true, placeholder: 'Acme Corp' });
  const uid = h('input', { type: 'text', id: 'app-uid-input', name: 'uid', placeholder: 'acme (optional)', autocomplete: 'off' });
  const form = h('form.stack', { id: 'app-form' },
    field('Name', name, { name: 'name', hint: 'Usually your customer’s name.' }),
    field('UID', uid, { name: 'uid', hint: 'Your own id for this customer; the API accepts it wherever it takes the application id.' }));
  const save = button('Create application', { kind: 'primary', type: 'submit', id: 'app-create-submit' });
  const cancel = button('Cancel');
  const { dlg } = openDialog({ id: 'app-dialog', title: 'New application', body: form, foot: [cancel, save], onOpen: () => name.focus() });
  cancel.addEventListener('click', () => dlg.close('cancel'));
  save.addEventListener('click', () => form.requestSubmit());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      const a = await ctx.api.post('app', { name: name.value.trim(), uid: uid.value.trim() || undefined });
      dlg.close('ok');
      toast(`Application ${a.name} created`);
      ctx.navigate(`#/apps/${enc(a.id)}`);
    } catch (err) {
      if (!showFieldErrors(form, err)) toast(describeError(err), 'error');
      save.disabled = false;
    }
  });
}

export async function appsPage(ctx, main) {
  main.dataset.page = 'apps';
  const add = button('New application', { kind: 'primary', iconName: 'plus', id: 'app-new', onclick: () => createAppDialog(ctx) });
  main.append(h('div.page-head',
    h('div', h('h1', { tabindex: '-1' }, 'Applications'), h('p.lede', 'One application per customer of yours: it holds their endpoints and the messages sent to them.')),
    h('div.page-actions', add)));
  const search = h('input', { type: 'search', id: 'app-search', placeholder: 'Name, uid or id', autocomplete: 'off' });
  const results = h('section.card', { 'aria-label': 'Applications' }, loading());
  main.append(h('div.stack', h('div.card.card-body', field('Search applications', search)), results));

  let apps;
  try {
    apps = (await ctx.api.get('app', { limit: 250, order: 'descending' })).data;
  } catch (err) {
    if (err.status === 401) return;
    fill(results, errorState(err, () => ctx.navigate(location.hash)));
    return;
  }
  if (!ctx.alive()) return;
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = q ? apps.filter((a) => [a.name, a.uid || '', a.id].some((v) => v.toLowerCase().includes(q))) : apps;
    if (!apps.length) {
      fill(results, empty({ iconName: 'endpoints', title: 'No applications yet', text: 'Create one for your first customer, then add their endpoints.', action: button('New application', { kind: 'primary', iconName: 'plus', onclick: () => createAppDialog(ctx) }) }));
    } else if (!shown.length) {
      fill(results, empty({ iconName: 'search', title: 'No application matches', text: `Nothing matches “${search.value.trim()}”.` }));
    } else {
      fill(results, h('div.card-head', h('h2', 'Applications'), h('span.sub', `${shown.length} of ${apps.length}`)),
        // Column headings for sighted readers; each row's cells say what they are to screen readers.
        h('div.row.app-row.list-head', { id: 'app-list-head', 'aria-hidden': 'true' }, h('span', 'Name and id'), h('span', 'UID'), h('span', 'Created'), h('span')),
        h('ul.list', { id: 'app-list', 'aria-label': 'Applications' }, shown.map((a) => h('li', appRow(a)))));
    }
  };
  search.addEventListener('input', draw);
  draw();
}

// The lane cap (maxConcurrency): blank means the server's default.
const CAP_HINT = 'At most this many webhooks in flight to this endpoint at once (1–1000). Blank: the default, 64. Hookline lowers it on its own while the receiver struggles.';

function capInput(id, value) {
  return h('input', { type: 'number', id, name: 'maxConcurrency', min: 1, max: 1000, step: 1, inputmode: 'numeric', placeholder: 'Default (64)', value: value ?? '' });
}

/** capValue reads a cap field: null for blank, a number, or undefined (after showing why) when it is not one. */
function capValue(form, input) {
  const raw = input.value.trim();
  if (input.validity.badInput || (raw !== '' && !/^-?\d+$/.test(raw))) {
    showFieldErrors(form, { fields: [{ loc: ['body', 'maxConcurrency'], msg: 'Enter a whole number from 1 to 1000, or leave it blank for the default.' }] });
    return undefined;
  }
  return raw === '' ? null : Number(raw);
}

function editEndpointDialog(ctx, app, ep, onSaved) {
  const url = h('input', { type: 'url', id: 'eep-url', name: 'url', required: true, value: ep.url, inputmode: 'url', autocomplete: 'off' });
  const desc = h('input', { type: 'text', id: 'eep-description', name: 'description', value: ep.description || '' });
  const cap = capInput('eep-max', ep.maxConcurrency);
  const form = h('form.stack', { id: 'endpoint-edit-form', novalidate: true },
    field('URL', url, { name: 'url' }),
    field('Description', desc, { name: 'description' }),
    field('Max concurrent deliveries', cap, { name: 'maxConcurrency', hint: CAP_HINT }));
  const save = button('Save', { kind: 'primary', type: 'submit', id: 'eep-submit' });
  const cancel = button('Cancel');
  const { dlg } = openDialog({ id: 'endpoint-edit-dialog', title: 'Edit endpoint', body: form, foot: [cancel, save], onOpen: () => url.focus() });
  cancel.addEventListener('click', () => dlg.close('cancel'));
  save.addEventListener('click', () => form.requestSubmit());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showFieldErrors(form, null);
    const maxConcurrency = capValue(form, cap);
    if (maxConcurrency === undefined) return;
    save.disabled = true;
    try {
      await ctx.api.patch(`app/${enc(app.id)}/endpoint/${enc(ep.id)}`, { url: url.value.trim(), description: desc.value.trim(), maxConcurrency });
      dlg.close('ok');
      toast('Endpoint saved');
      onSaved();
    } catch (err) {
      if (!showFieldErrors(form, err)) toast(describeError(err), 'error');
    } finally {
      save.disabled = false;
    }
  });
}

/** transformDialog shows the portal's transformation card for one endpoint: edit, test, save. */
async function transformDialog(ctx, app, ep) {
  const body = h('div', loading());
  openDialog({ title: 'Transformation', wide: true, id: 'transform-dialog', body });
  fill(body, await transformationCard(ctx, `app/${enc(app.id)}/endpoint/${enc(ep.id)}`, { canEdit: true }));
}

function endpointForm(ctx, app, catalog, onCreated) {
  const url = h('input', { type: 'url', id: 'cep-url', name: 'url', required: true, placeholder: 'https://example.com/webhooks', inputmode: 'url', autocomplete: 'off' });
  const desc = h('input', { type: 'text', id: 'cep-description', name: 'description', placeholder: 'What receives these webhooks?' });
  const types = h('select', { id: 'cep-types', name: 'filterTypes', multiple: true, size: Math.min(Math.max(catalog.length, 2), 6) },
    catalog.filter((t) => !t.archived).map((t) => h('option', { value: t.name }, t.name)));
  const cap = capInput('cep-max');
  const submit = button('Add endpoint', { kind: 'primary', type: 'submit', id: 'cep-submit', iconName: 'plus' });
  const form = h('form.card-body.form-grid', { id: 'endpoint-form', 'aria-label': 'Add an endpoint', novalidate: true },
    field('URL', url, { name: 'url' }),
    field('Description', desc, { name: 'description' }),
    field('Max concurrent deliveries', cap, { name: 'maxConcurrency', hint: CAP_HINT }),
    catalog.length ? field('Event types', types, { name: 'filterTypes', wide: true, hint: 'None selected: every event type. Ctrl/⌘-click to pick several.' }) : null,
    h('div.wide', submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showFieldErrors(form, null);
    const maxConcurrency = capValue(form, cap);
    if (maxConcurrency === undefined) return;
    submit.disabled = true;
    const filterTypes = [...types.selectedOptions].map((o) => o.value);
    try {
      const ep = await ctx.api.post(`app/${enc(app.id)}/endpoint`, { url: url.value.trim(), description: desc.value.trim(), filterTypes: filterTypes.length ? filterTypes : undefined, maxConcurrency: maxConcurrency ?? undefined });
      toast('Endpoint added');
      form.reset();
      onCreated(ep);
    } catch (err) {
      if (!showFieldErrors(form, err)) toast(describeError(err), 'error');
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

async function openPortal(ctx, app, btn) {
  btn.disabled = true;
  try {
    const out = await ctx.api.post(`auth/app-portal-access/${enc(app.id)}`, {});
    // The portal is on this server: link it where the console is served.
    const link = new URL(`portal/#key=${out.token}`, new URL('../', location.href)).href;
    const a = h('a.btn.primary', { href: link, target: '_blank', rel: 'noopener noreferrer', id: 'portal-link' }, 'Open the portal');
    const close = button('Close');
    const { dlg } = openDialog({
      id: 'portal-dialog', title: `Portal of ${app.name}`,
      body: [h('p', 'A magic link into this customer’s portal, valid for 7 days. Anyone holding it acts as the customer; revoke it from the API (expire-all) when in doubt.'),
        h('div.secret', h('code.secret-value', { id: 'portal-url', dataset: { revealed: '1' } }, link), copyButton(() => link))],
      foot: [close, a], onOpen: () => a.focus(),
    });
    close.addEventListener('click', () => dlg.close('cancel'));
  } catch (err) {
    toast(describeError(err), 'error');
  } finally {
    btn.disabled = false;
  }
}

export async function appPage(ctx, main, [id]) {
  main.dataset.page = 'app';
  main.dataset.appId = id;
  main.append(loading());
  const [app, catalog] = await Promise.all([ctx.api.get(`app/${enc(id)}`), ctx.catalog().catch(() => [])]);
  if (!ctx.alive()) return;

  const title = h('h1', { tabindex: '-1', id: 'app-title' }, app.name);
  const rename = button('Rename', { iconName: 'edit', id: 'app-rename', onclick: () => renameDialog() });
  const del = button('Delete', { kind: 'danger', iconName: 'trash', id: 'app-delete', onclick: async () => {
    if (!await confirm({ title: `Delete ${app.name}?`, text: 'Its endpoints stop receiving webhooks at once, and its messages can no longer be read. This cannot be undone.', confirmLabel: 'Delete application', danger: true, iconName: 'trash' })) return;
    try {
      await ctx.api.del(`app/${enc(app.id)}`);
      toast('Application deleted');
      ctx.navigate('#/apps');
    } catch (err) {
      toast(describeError(err), 'error');
    }
  } });
  const portal = button('Open portal as this customer', { kind: 'primary', iconName: 'link', id: 'app-portal', onclick: (e) => openPortal(ctx, app, e.currentTarget) });

  function renameDialog() {
    const name = h('input', { type: 'text', id: 'rename-input', name: 'name', required: true, value: app.name });
    const form = h('form.stack', { id: 'rename-form' }, field('Name', name, { name: 'name' }));
    const save = button('Save', { kind: 'primary', type: 'submit', id: 'rename-submit' });
    const cancel = button('Cancel');
    const { dlg } = openDialog({ id: 'rename-dialog', title: 'Rename application', body: form, foot: [cancel, save], onOpen: () => name.select() });
    cancel.addEventListener('click', () => dlg.close('cancel'));
    save.addEventListener('click', () => form.requestSubmit());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const a = await ctx.api.patch(`app/${enc(app.id)}`, { name: name.value.trim() });
        app.name = a.name;
        title.textContent = a.name;
        dlg.close('ok');
        toast('Renamed');
      } catch (err) {
        if (!showFieldErrors(form, err)) toast(describeError(err), 'error');
      }
    });
  }

  const epList = h('div', loading());
  const names = new Map();
  async function drawEndpoints() {
    const eps = (await ctx.api.get(`app/${enc(app.id)}/endpoint`, { limit: 250 })).data;
    for (const e of eps) names.set(e.id, e.description || e.url);
    fill(epList, eps.length
      ? h('ul.list', { id: 'app-endpoints', 'aria-label': 'Endpoints' }, eps.map((e) => h('li', h('div.row.dest-row.cep-row', { dataset: { endpointId: e.id } },
        h('span.cell-stack', h('span.primary-text.mono', e.url), h('span.secondary-text', [e.description || 'No description', e.filterTypes?.length ? ` · ${e.filterTypes.join(', ')}` : ' · all event types'].join('')),
          h('span.secondary-text', { dataset: { cap: e.maxConcurrency ?? '' } }, e.maxConcurrency ? `At most ${e.maxConcurrency} in flight` : 'Default concurrency (64)')),
        e.disabled ? h('span.pill.off', 'Disabled') : h('span.pill.ok', 'Enabled'),
        h('span.secondary-text.mono', e.id),
        h('span.row-actions',
          button('Edit', { iconName: 'edit', small: true, dataset: { editEndpoint: e.id }, onclick: () => editEndpointDialog(ctx, app, e, () => drawEndpoints()) }),
          button('Security', {
            small: true, iconName: 'lock', dataset: { security: e.id }, title: 'Client certificate, server CA and OAuth2',
            onclick: () => openDialog({ title: 'Connection security', wide: true, id: 'security-dialog',
              body: securityCard(ctx, `app/${enc(app.id)}/endpoint/${enc(e.id)}`, { canManage: true }) }),
          }),
          button('Transform', {
            small: true, iconName: 'flask', dataset: { transform: e.id }, title: 'JavaScript that reshapes each webhook before it is sent',
            onclick: () => transformDialog(ctx, app, e),
          }))))))
      : empty({ iconName: 'endpoints', title: 'No endpoints yet', text: 'Add the URL where this customer receives webhooks, or let them do it in their portal.' }));
  }

  const msgs = pagedList({
    label: 'Recent messages', prevLabel: 'Newer', nextLabel: 'Older',
    fetchPage: (iterator) => ctx.capi.get('messages', { app: app.id, iterator, limit: 10 }),
    renderItem: (m) => h('a.row.cmsg-row', { href: `#/messages/${enc(m.appId)}/${enc(m.id)}`, dataset: { msgId: m.id } },
      h('span', h('span.tag', m.eventType)), h('span.primary-text.mono', m.id), h('span.secondary-text', m.eventId || ''),
      h('span.secondary-text', when(m.timestamp)), deliveryStates(m.endpoints, (eid) => names.get(eid) || eid), h('span.chev', '›')),
    empty: () => empty({ iconName: 'logs', title: 'No messages yet', text: 'Messages you send to this application appear here.' }),
  });

  const dests = destinationsSection(ctx, app);
  fill(main,
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '#/apps' }, 'Applications'), '/', h('span', 'Application')),
    h('div.page-head',
      h('div', title, h('p.lede', h('code', { id: 'app-id' }, app.id), app.uid ? [' · uid ', h('code', app.uid)] : null, ' · created ', when(app.createdAt))),
      h('div.page-actions', portal, rename, del)),
    h('div.stack',
      h('section.card', { 'aria-labelledby': 'eps-title' },
        h('div.card-head', h('h2', { id: 'eps-title' }, 'Endpoints')),
        epList,
        endpointForm(ctx, app, catalog, () => drawEndpoints())),
      dests.el,
      h('section.card', { 'aria-labelledby': 'msgs-title' },
        h('div.card-head', h('h2', { id: 'msgs-title' }, 'Recent messages'), h('span.live', 'Updates live')),
        msgs.el)));
  try {
    await drawEndpoints();
  } catch (err) {
    if (err.status === 401) return;
    fill(epList, errorState(err));
  }
  await Promise.all([dests.draw(), msgs.reload()]);
  ctx.poll(() => msgs.refresh(), 4000, { immediate: false });
}
