// An endpoint's connection security: the client certificate Hookline
// presents (mTLS), the CA its server certificate is checked against, and
// the OAuth2 client whose token every webhook carries. Keys and secrets
// go in and never come back out; the card shows what is set.

import { h, fill, button, toast, field, showFieldErrors, select, when, loading, errorState, confirm } from '../ui.js';

// securityCard shows and (with canManage, by default the portal link's
// ManageEndpoint) changes the settings of the endpoint at epPath. The
// console reuses it in a dialog.
export function securityCard(ctx, epPath, { canManage = ctx.can?.manageEndpoint } = {}) {
  ctx = { ...ctx, can: { ...ctx.can, manageEndpoint: canManage } };
  const body = h('div.card-body.stack', loading());
  const card = h('section.card', { 'aria-labelledby': 'security-title', id: 'security-card' },
    h('div.card-head', h('div', h('h2', { id: 'security-title' }, 'Connection security'),
      h('span.sub', 'Client certificate, server CA and OAuth2'))), body);
  const draw = async () => {
    try {
      const [mtls, ca, oauth] = await Promise.all([
        ctx.api.get(`${epPath}/mtls-config`), ctx.api.get(`${epPath}/ca`), ctx.api.get(`${epPath}/oauth-config`)]);
      fill(body, mtlsPart(ctx, epPath, mtls, draw), caPart(ctx, epPath, ca, draw), oauthPart(ctx, epPath, oauth, draw));
    } catch (err) {
      fill(body, errorState(err, draw));
    }
  };
  draw();
  return card;
}

// save sends one change and redraws; a 422 marks the form's fields.
async function save(form, send, done, what) {
  try {
    await send();
    toast(`${what} saved`);
    done();
  } catch (err) {
    if (!showFieldErrors(form, err)) toast(err.message || `Could not save the ${what.toLowerCase()}`, 'error');
  }
}

function mtlsPart(ctx, epPath, state, redraw) {
  const c = state.config;
  const status = h('p', { id: 'mtls-state', dataset: { enabled: state.enabled ? '1' : '' } },
    state.enabled
      ? ['Presents ', h('code', c.subject), ` (issued by ${c.issuer}), valid until `, when(c.notAfter), '.']
      : 'No client certificate: the endpoint does not ask Hookline to identify itself with one.');
  const part = h('div.stack', h('h3', 'Client certificate (mTLS)'), status);
  if (!ctx.can.manageEndpoint) return part;
  const identity = h('textarea', { id: 'mtls-identity', name: 'identity', rows: 5, placeholder: '-----BEGIN PRIVATE KEY-----\n…\n-----BEGIN CERTIFICATE-----\n…', spellcheck: 'false' });
  const form = h('form.stack', { id: 'mtls-form' },
    field('Private key and certificate (PEM)', identity, { name: 'identity', hint: 'Stored encrypted; it is never shown again.' }));
  const actions = [button('Save certificate', { small: true, id: 'mtls-save', type: 'submit' })];
  if (state.enabled) {
    actions.push(button('Remove', {
      small: true, kind: 'danger', id: 'mtls-remove', onclick: async () => {
        if (!(await confirm({ title: 'Remove the client certificate?', confirmLabel: 'Remove', danger: true, text: 'Webhooks are sent without one from now on.' }))) return;
        await save(form, () => ctx.api.del(`${epPath}/mtls`), redraw, 'Client certificate');
      },
    }));
  }
  form.append(h('div.page-actions', actions));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    save(form, () => ctx.api.put(`${epPath}/mtls`, { identity: identity.value }), redraw, 'Client certificate');
  });
  part.append(form);
  return part;
}

function caPart(ctx, epPath, state, redraw) {
  const part = h('div.stack', h('h3', 'Server certificate authority'),
    h('p', { id: 'ca-state', dataset: { custom: state.cert ? '1' : '' } },
      state.cert ? 'The endpoint’s certificate is checked against your own CA.' : 'The endpoint’s certificate is checked against the usual public CAs.'));
  if (!ctx.can.manageEndpoint) return part;
  const cert = h('textarea', { id: 'ca-cert', name: 'cert', rows: 4, placeholder: '-----BEGIN CERTIFICATE-----\n…', spellcheck: 'false' });
  cert.value = state.cert || '';
  const form = h('form.stack', { id: 'ca-form' }, field('CA certificate (PEM)', cert, { name: 'cert' }));
  const actions = [button('Save CA', { small: true, id: 'ca-save', type: 'submit' })];
  if (state.cert) {
    actions.push(button('Use public CAs', {
      small: true, id: 'ca-clear', onclick: () => save(form, () => ctx.api.put(`${epPath}/ca`, { cert: null }), redraw, 'CA'),
    }));
  }
  form.append(h('div.page-actions', actions));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    save(form, () => ctx.api.put(`${epPath}/ca`, { cert: cert.value }), redraw, 'CA');
  });
  part.append(form);
  return part;
}

function oauthPart(ctx, epPath, state, redraw) {
  const c = state.config;
  const part = h('div.stack', h('h3', 'OAuth2'),
    h('p', { id: 'oauth-state', dataset: { enabled: state.enabled ? '1' : '' } },
      state.enabled
        ? ['Each webhook carries a bearer token for client ', h('code', c.clientId), ' from ', h('code', c.tokenUrl), '.']
        : 'Off: webhooks carry no OAuth2 token.'));
  if (!ctx.can.manageEndpoint) return part;
  const grant = select([['clientCredentials', 'Client credentials'], ['refreshToken', 'Refresh token']], { id: 'oauth-grant', name: 'grantType', value: c?.grantType });
  const method = select([['clientSecretBasic', 'Basic authentication'], ['clientSecretPost', 'In the request body']], { id: 'oauth-method', name: 'authMethod', value: c?.authMethod });
  const clientId = h('input', { type: 'text', id: 'oauth-client-id', name: 'clientId', value: c?.clientId || '', autocomplete: 'off' });
  const secret = h('input', { type: 'password', id: 'oauth-client-secret', name: 'clientSecret', autocomplete: 'new-password' });
  const tokenUrl = h('input', { type: 'url', id: 'oauth-token-url', name: 'tokenUrl', value: c?.tokenUrl || '', placeholder: 'https://auth.example.com/oauth/token' });
  const scopes = h('input', { type: 'text', id: 'oauth-scopes', name: 'scopes', value: (c?.scopes || []).join(' ') });
  const refresh = h('input', { type: 'password', id: 'oauth-refresh-token', name: 'refreshToken', autocomplete: 'new-password' });
  const form = h('form.stack', { id: 'oauth-form' },
    h('div.form-grid',
      field('Grant', grant, { name: 'grantType' }), field('Client authentication', method, { name: 'authMethod' }),
      field('Client ID', clientId, { name: 'clientId' }), field('Client secret', secret, { name: 'clientSecret', hint: 'Stored encrypted; never shown again.' }),
      field('Token URL', tokenUrl, { name: 'tokenUrl', wide: true }), field('Scopes', scopes, { name: 'scopes', hint: 'Separated by spaces.' }),
      field('Refresh token', refresh, { name: 'refreshToken', hint: 'Only for the refresh token grant.' })));
  const actions = [button('Save OAuth2', { small: true, id: 'oauth-save', type: 'submit' })];
  if (state.enabled) {
    actions.push(button('Turn off', {
      small: true, kind: 'danger', id: 'oauth-remove', onclick: () => save(form, () => ctx.api.del(`${epPath}/oauth`), redraw, 'OAuth2'),
    }));
  }
  form.append(h('div.page-actions', actions));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const cfg = {
      grantType: grant.value, authMethod: method.value, clientId: clientId.value, tokenUrl: tokenUrl.value,
      scopes: scopes.value.split(/\s+/).filter(Boolean),
    };
    if (secret.value) cfg.clientSecret = secret.value;
    if (refresh.value) cfg.refreshToken = refresh.value;
    save(form, () => ctx.api.put(`${epPath}/oauth`, cfg), redraw, 'OAuth2');
  });
  part.append(form);
  return part;
}
