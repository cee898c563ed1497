// Portal branding: the display name, logo, colour and theme your
// customers see in their portal, and the sites allowed to embed it, with
// a live preview built from the portal's own components and stylesheet.

import { h, fill, button, field, select, loading, errorState, toast, showFieldErrors, icon, describeError } from '../../../portal/assets/ui.js';

function inkFor(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 ? '#101828' : '#ffffff';
}

export async function brandingPage(ctx, main) {
  main.dataset.page = 'branding';
  main.append(h('div.page-head', h('div', h('h1', { tabindex: '-1' }, 'Portal branding'),
    h('p.lede', 'How the customer portal looks to your customers, and which of your sites may embed it.'))));
  const body = h('div', loading());
  main.append(body);
  let s;
  try {
    s = await ctx.api.get('settings');
  } catch (err) {
    if (err.status === 401) return;
    fill(body, h('div.card', errorState(err, () => ctx.navigate(location.hash))));
    return;
  }
  if (!ctx.alive()) return;

  const name = h('input', { type: 'text', id: 'brand-display-name', name: 'displayName', value: s.displayName || '', placeholder: ctx.session.tenantName });
  const logo = h('input', { type: 'url', id: 'brand-logo', name: 'logoUrl', value: s.logoUrl || '', placeholder: 'https://…/logo.png', inputmode: 'url' });
  const colorText = h('input', { type: 'text', id: 'brand-color', name: 'primaryColor', value: s.primaryColor || '', placeholder: '#4f46e5', pattern: '#[0-9a-fA-F]{6}', maxlength: 7, autocomplete: 'off' });
  const colorPick = h('input', { type: 'color', id: 'brand-color-pick', value: s.primaryColor || '#4f46e5', 'aria-label': 'Pick the colour' });
  const theme = select([['auto', 'Follow the viewer’s setting'], ['light', 'Light'], ['dark', 'Dark']], { id: 'brand-theme', name: 'theme', value: s.theme || 'auto' });
  const origins = h('textarea', { id: 'brand-origins', name: 'allowedFrameOrigins', rows: 3, placeholder: 'https://dashboard.example.com', spellcheck: 'false' });
  origins.value = (s.allowedFrameOrigins || []).join('\n');
  const save = button('Save', { kind: 'primary', type: 'submit', id: 'brand-save' });
  const form = h('form.card.card-body.form-grid', { id: 'brand-form', 'aria-label': 'Branding' },
    field('Display name', name, { name: 'displayName', hint: 'Empty: your organisation’s name.' }),
    field('Logo URL', logo, { name: 'logoUrl', hint: 'An https image, shown at 32 px high.' }),
    h('div.field', { dataset: { field: 'primaryColor' } }, h('label', { for: colorText.id }, 'Colour'), h('div.color-field', colorPick, colorText), h('p.error', { hidden: true })),
    field('Theme', theme, { name: 'theme' }),
    field('Sites allowed to embed the portal', origins, { name: 'allowedFrameOrigins', wide: true, hint: 'One origin per line (https://host[:port]). Empty: any site may frame it.' }),
    h('div.wide', save));

  // The preview: the portal's top bar and a row, in the chosen look.
  const pMark = h('div.brand-mark', { 'aria-hidden': 'true' });
  const pLogo = h('img.brand-logo', { alt: '', referrerpolicy: 'no-referrer', hidden: true });
  const pName = h('div.brand-name', { id: 'preview-name' });
  const preview = h('div.preview', { id: 'brand-preview', 'aria-label': 'Preview of the customer portal', role: 'img' },
    h('header.topbar', h('div.topbar-inner', h('div.brand', pLogo, pMark, h('div.brand-text', pName, h('div.brand-app', 'Webhooks for your customer'))),
      h('div.topbar-actions', h('span.btn.ghost.small', icon('logout'), 'Sign out'))),
    h('nav.tabs', h('div.tabs-inner', h('span.tab', { 'aria-current': 'page' }, icon('endpoints'), 'Endpoints'), h('span.tab', icon('logs'), 'Logs')))),
    h('div.page.stack',
      h('div.page-head', h('h1', 'Endpoints'), h('span.btn.primary', icon('plus'), 'Add endpoint')),
      h('div.card', h('div.row.dest-row', h('span.cell-stack', h('span.primary-text.mono', 'https://hooks.customer.test/webhooks'), h('span.secondary-text', 'Billing service')), h('span.pill.ok', 'Active'), h('span')))));
  const draw = () => {
    const n = name.value.trim() || ctx.session.tenantName;
    pName.textContent = n;
    pMark.textContent = n.charAt(0).toUpperCase();
    const lu = logo.value.trim();
    pLogo.hidden = !/^https?:\/\//.test(lu);
    pMark.hidden = !pLogo.hidden;
    if (!pLogo.hidden && pLogo.getAttribute('src') !== lu) pLogo.src = lu;
    preview.dataset.theme = theme.value;
    const c = colorText.value.trim();
    if (/^#[0-9a-fA-F]{6}$/.test(c)) {
      preview.style.setProperty('--brand', c);
      preview.style.setProperty('--brand-ink', inkFor(c));
    } else {
      preview.style.removeProperty('--brand');
      preview.style.removeProperty('--brand-ink');
    }
  };
  colorPick.addEventListener('input', () => {
    colorText.value = colorPick.value;
    draw();
  });
  colorText.addEventListener('input', () => {
    if (/^#[0-9a-fA-F]{6}$/.test(colorText.value.trim())) colorPick.value = colorText.value.trim();
    draw();
  });
  for (const el of [name, logo, theme]) el.addEventListener('input', draw);
  theme.addEventListener('change', draw);
  draw();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    const orig = origins.value.split(/[\s,]+/).map((o) => o.trim()).filter(Boolean);
    try {
      await ctx.api.patch('settings', {
        displayName: name.value.trim() || null, logoUrl: logo.value.trim() || null,
        primaryColor: colorText.value.trim() || null, theme: theme.value, allowedFrameOrigins: orig,
      });
      showFieldErrors(form, null);
      toast('Branding saved; the portal shows it from its next page load');
      form.dataset.saved = String(Date.now());
    } catch (err) {
      if (!showFieldErrors(form, err)) toast(describeError(err), 'error');
    } finally {
      save.disabled = false;
    }
  });
  fill(body, h('div.grid-2', form, h('section.card', { 'aria-labelledby': 'preview-title' },
    h('div.card-head', h('h2', { id: 'preview-title' }, 'Preview')), h('div.card-body', preview))));
}
