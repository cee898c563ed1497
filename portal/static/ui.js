// Small DOM helpers. Everything is built with createElement and
// textContent, never innerHTML, so no value from the API (URLs, payloads,
// receivers' answers) can ever become markup.

/** h builds an element: h('a.btn.primary', {href: '#'}, 'text', child). */
export function h(spec, props, ...children) {
  if (props == null || typeof props !== 'object' || props instanceof Node || Array.isArray(props)) {
    if (props != null) children.unshift(props);
    props = {};
  }
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** clear empties el and appends children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const ICONS = {
  plus: 'M12 5v14M5 12h14',
  chevron: 'm9 18 6-6-6-6',
  back: 'm15 18-6-6 6-6',
  copy: 'M8 8h11v11H8zM5 16V5h11',
  eye: 'M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12zM12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z',
  eyeOff: 'M3 3l18 18M10.6 10.6a2 2 0 0 0 2.8 2.8M9.9 5.1A10.4 10.4 0 0 1 12 5c6.5 0 10 7 10 7a17 17 0 0 1-3.2 4.1M6.6 6.6C3.9 8.3 2 12 2 12s3.5 7 10 7a9.7 9.7 0 0 0 5.4-1.6',
  rotate: 'M21 12a9 9 0 1 1-2.6-6.4M21 3v6h-6',
  trash: 'M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6',
  edit: 'M4 20h4L19 9l-4-4L4 16zM14 6l4 4',
  send: 'M22 2 11 13M22 2l-7 20-4-9-9-4z',
  check: 'M20 6 9 17l-5-5',
  x: 'M18 6 6 18M6 6l12 12',
  alert: 'M12 9v4M12 17h.01M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z',
  info: 'M12 16v-4M12 8h.01M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z',
  search: 'M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16zM21 21l-4.3-4.3',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  endpoints: 'M4 12h4l3-8 4 16 3-8h2',
  logs: 'M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01',
  book: 'M4 19.5A2.5 2.5 0 0 1 6.5 17H20V3H6.5A2.5 2.5 0 0 0 4 5.5zM4 19.5A2.5 2.5 0 0 0 6.5 22H20v-5',
  flask: 'M9 3h6M10 3v6L4 20a1 1 0 0 0 .9 1.5h14.2a1 1 0 0 0 .9-1.5L14 9V3M7 15h10',
  power: 'M12 2v10M18.4 6.6a9 9 0 1 1-12.8 0',
  meter: 'M3 3v18h18M8 17v-5M13 17V8M18 17v-9',
  replay: 'M3 12a9 9 0 1 0 3-6.7L3 8M3 3v5h5',
  lock: 'M5 11h14v10H5zM8 11V7a4 4 0 0 1 8 0v4',
  inbox: 'M22 12h-6l-2 3h-4l-2-3H2M5.5 5h13L22 12v7H2v-7z',
  layers: 'M12 2 2 7l10 5 10-5-10-5zM2 17l10 5 10-5M2 12l10 5 10-5',
  link: 'M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7',
};

/** icon returns an inline SVG icon (decorative: hidden from screen readers). */
export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name] || ICONS.info);
  svg.append(path);
  return svg;
}

/** button builds a <button type="button">; pass type: 'submit' for forms. */
export function button(label, { kind = '', iconName, onclick, id, type = 'button', small, title, disabled, dataset } = {}) {
  const cls = ['btn', kind, small ? 'small' : ''].filter(Boolean).join('.');
  return h(`button.${cls}`, { type, id, onclick, title, disabled, dataset, 'aria-label': label ? null : title },
    iconName ? icon(iconName) : null, label ? h('span.btn-label', label) : null);
}

// ---------- formatting ----------

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const shortFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function fmtDate(iso) {
  return iso ? dateFmt.format(new Date(iso)) : '—';
}

/** fmtWhen is a short absolute time with the full one as a tooltip. */
export function when(iso) {
  return h('time', { datetime: iso, title: fmtDate(iso) }, iso ? shortFmt.format(new Date(iso)) : '—');
}

export function fmtRelative(iso) {
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** toLocalInput turns a Date into a datetime-local value (local time). */
export function toLocalInput(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** fromLocalInput reads a datetime-local value as an RFC 3339 instant. */
export function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

// Attempt and delivery statuses, as the API numbers them.
const STATUS = {
  0: ['Succeeded', 'ok'],
  1: ['Pending', 'warn'],
  2: ['Failed', 'fail'],
  3: ['Sending', 'info'],
  4: ['Canceled', 'off'],
};

export function statusPill(status) {
  const [label, cls] = STATUS[status] || ['Unknown', 'off'];
  return h(`span.pill.${cls}`, { dataset: { status: String(status) } }, label);
}

// Delivery states (a message with one endpoint), as the API names them.
const STATES = {
  succeeded: ['Succeeded', 'ok'],
  failed: ['Failed', 'fail'],
  pending: ['Pending', 'warn'],
  scheduled: ['Scheduled', 'info'],
  sending: ['Sending', 'info'],
  canceled: ['Canceled', 'off'],
};

/**
 * destinationPill shows a message's status with one endpoint (a
 * MessageEndpointOut): a delivery waiting for a try is "Scheduled" when
 * that try is more than 2 s away and "Pending" when due, as the lists'
 * delivery states say (tenants.DeliveryState.State), so that one message
 * reads the same on every page.
 */
export function destinationPill(d) {
  if (d.status !== 1) return statusPill(d.status);
  const later = d.nextAttempt && new Date(d.nextAttempt).getTime() - Date.now() > 2000;
  const pill = statePill(later ? 'scheduled' : 'pending');
  pill.dataset.status = '1';
  return pill;
}

/** statePill shows a delivery state; label (an endpoint) goes in front. */
export function statePill(state, { label, title } = {}) {
  const [text, cls] = STATES[state] || ['Unknown', 'off'];
  return h(`span.pill.${cls}`, { dataset: { state }, title: title || null }, label ? `${label}: ${text}` : text);
}

/**
 * deliveryStates shows where a message stands with each endpoint: one
 * pill when it went to one endpoint, one per endpoint (named by nameOf)
 * when several, and a note when none.
 */
export function deliveryStates(states, nameOf = (id) => id) {
  if (!states) return h('span.states.secondary-text', '…');
  if (!states.length) return h('span.states.secondary-text', { dataset: { state: 'none' } }, 'No endpoint');
  if (states.length === 1) {
    const s = states[0];
    return h('span.states', statePill(s.state, { title: `${nameOf(s.endpointId)} · ${s.attempts} attempt(s)` }));
  }
  return h('span.states.multi', states.map((s) => statePill(s.state, {
    label: shortName(nameOf(s.endpointId)), title: `${nameOf(s.endpointId)} · ${s.attempts} attempt(s)`,
  })));
}

function shortName(name) {
  try {
    const u = new URL(name);
    return u.host;
  } catch {
    return name.length > 18 ? `${name.slice(0, 17)}…` : name;
  }
}

export const STATUS_OPTIONS = [['', 'Any status'], ['0', 'Succeeded'], ['2', 'Failed'], ['1', 'Pending'], ['3', 'Sending']];

export function httpCode(code, error) {
  if (!code) return h('span.pill.fail', { title: error || 'No response' }, error ? 'No response' : '—');
  const cls = code >= 200 && code < 300 ? 'ok' : code >= 500 || code < 200 ? 'fail' : 'warn';
  return h(`span.pill.${cls}`, String(code));
}

// ---------- JSON ----------

/** jsonBlock pretty-prints a value (or JSON text) with light highlighting. */
export function jsonBlock(value, { label } = {}) {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return h('pre.json', { tabindex: 0, 'aria-label': label }, value === '' ? '(empty)' : value);
    }
  }
  const pre = h('pre.json', { tabindex: 0, 'aria-label': label });
  const text = JSON.stringify(v, null, 2) ?? 'null';
  // Split the pretty text into tokens and colour keys, strings, numbers
  // and literals; the text itself is never parsed as HTML.
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) pre.append(text.slice(last, m.index));
    if (m[1]) {
      pre.append(h(m[2] ? 'span.k' : 'span.s', m[1]));
      if (m[2]) pre.append(m[2]);
    } else if (m[3]) pre.append(h('span.b', m[3]));
    else pre.append(h('span.n', m[4]));
    last = m.index + m[0].length;
  }
  pre.append(text.slice(last));
  return pre;
}

// ---------- states ----------

export function loading(text = 'Loading…') {
  return h('div.loading', { role: 'status' }, h('span.spinner'), text);
}

export function empty({ iconName = 'inbox', title, text, action }) {
  return h('div.empty', h('div.icon-badge', icon(iconName)), h('p.empty-title', title), text ? h('p.empty-text', text) : null, action);
}

export function errorState(err, retry) {
  return h('div.empty', { role: 'alert' },
    h('div.icon-badge.error', icon('alert')),
    h('p.empty-title', 'Something went wrong'),
    h('p.empty-text', describeError(err)),
    retry ? button('Try again', { iconName: 'replay', onclick: retry }) : null);
}

export function callout(kind, text, iconName = kind === 'info' ? 'info' : 'alert') {
  return h(`div.callout.${kind}`, { role: kind === 'error' ? 'alert' : null }, icon(iconName), h('div', text));
}

export function describeError(err) {
  if (!err) return 'Unknown error.';
  if (err.status === 0) return 'The server could not be reached. Check your connection and try again.';
  if (err.status === 403) return 'Your access does not allow this.';
  if (err.status === 404) return 'It does not exist (any more).';
  if (err.detail) return typeof err.detail === 'string' ? err.detail : 'The request was not valid.';
  return err.message || String(err);
}

// ---------- toasts ----------

export function toast(text, kind = '') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h(`div.toast${kind ? '.' + kind : ''}`, text);
  box.append(t);
  while (box.children.length > 3) box.firstChild.remove();
  setTimeout(() => t.remove(), kind === 'error' ? 6000 : 3200);
}

// ---------- dialogs ----------

/**
 * openDialog shows a modal <dialog>: the browser traps focus in it and
 * closes it on Escape. It resolves with the dialog's returnValue.
 */
export function openDialog({ title, body, foot, wide, id, onOpen }) {
  const closeBtn = button('', { kind: 'ghost.icon-only', iconName: 'x', title: 'Close' });
  const heading = h('h2', { id: `${id || 'dlg'}-title` }, title);
  const dlg = h('dialog', { id, class: wide ? 'wide' : '', 'aria-labelledby': heading.id },
    h('div.dialog-head', heading, closeBtn),
    h('div.dialog-body', body),
    foot ? h('div.dialog-foot', foot) : null);
  const opener = document.activeElement;
  closeBtn.addEventListener('click', () => dlg.close('cancel'));
  dlg.addEventListener('click', (e) => {
    if (e.target === dlg) dlg.close('cancel'); // a click on the backdrop
  });
  document.body.append(dlg);
  const done = new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(dlg.returnValue);
    });
  });
  dlg.showModal();
  if (onOpen) onOpen(dlg);
  return { dlg, done };
}

/** confirm asks a yes/no question; resolves true when confirmed. */
export async function confirm({ title, text, confirmLabel, danger, iconName }) {
  const ok = button(confirmLabel, { kind: danger ? 'danger.solid' : 'primary', iconName, id: 'confirm-ok' });
  const cancel = button('Cancel', { id: 'confirm-cancel' });
  const { dlg, done } = openDialog({
    id: 'confirm-dialog', title, body: Array.isArray(text) ? text.map((t) => (t instanceof Node ? t : h('p', t))) : h('p', text),
    foot: [cancel, ok],
    onOpen: () => ok.focus(),
  });
  ok.addEventListener('click', () => dlg.close('ok'));
  cancel.addEventListener('click', () => dlg.close('cancel'));
  return (await done) === 'ok';
}

// ---------- clipboard ----------

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Inside an iframe without clipboard permission: the old way.
    const ta = h('textarea', { readonly: true, class: 'visually-hidden' }, text);
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    if (!ok) throw new Error('copy failed');
  }
}

export function copyButton(getText, label = 'Copy') {
  const b = button(label, {
    iconName: 'copy', small: true, onclick: async () => {
      try {
        await copyText(await getText());
        toast('Copied to the clipboard');
      } catch {
        toast('Could not copy; select the text and copy it by hand', 'error');
      }
    },
  });
  return b;
}

/**
 * revealToggle is the Reveal/Hide button of a credential shown hidden: a
 * press while hidden awaits load() (which reads it) and then shows it, a
 * press while shown hides it. onShown(on) runs at every change, to put
 * the value (or its mask) in place; onError(err) when load fails. set(on)
 * changes it from outside (after a rotation), shown() tells which it is.
 */
export function revealToggle({ id, load, onShown, onError }) {
  const btn = button('Reveal', { iconName: 'eye', small: true, id });
  let shown = false;
  const set = (on) => {
    shown = on;
    fill(btn, icon(on ? 'eyeOff' : 'eye'), h('span.btn-label', on ? 'Hide' : 'Reveal'));
    btn.setAttribute('aria-pressed', on ? 'true' : 'false');
    onShown(on);
  };
  btn.addEventListener('click', async () => {
    if (shown) {
      set(false);
      return;
    }
    btn.disabled = true;
    try {
      await load();
      set(true);
    } catch (err) {
      onError(err);
    } finally {
      btn.disabled = false;
    }
  });
  return { button: btn, set, shown: () => shown };
}

// ---------- forms ----------

/** field wraps a control with its label, hint and error slot. */
export function field(label, control, { hint, wide, name } = {}) {
  control.id ||= `f-${Math.random().toString(36).slice(2, 9)}`;
  const err = h('p.error', { id: `${control.id}-error`, hidden: true });
  const hintEl = hint ? h('p.hint', { id: `${control.id}-hint` }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl?.id, err.id].filter(Boolean).join(' '));
  return h('div.field', { class: wide ? 'wide' : '', dataset: { field: name || '' } },
    h('label', { for: control.id }, label), control, hintEl, err);
}

/** showFieldErrors marks the fields a 422 names; returns whether any matched. */
export function showFieldErrors(form, err) {
  for (const f of form.querySelectorAll('.field.invalid')) {
    f.classList.remove('invalid');
    f.querySelector('.error').hidden = true;
  }
  let matched = false;
  for (const d of err?.fields || []) {
    const name = d.loc?.[1];
    const f = name && form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
    if (!f) continue;
    f.classList.add('invalid');
    const e = f.querySelector('.error');
    e.textContent = d.msg;
    e.hidden = false;
    if (!matched) f.querySelector('input, select, textarea')?.focus();
    matched = true;
  }
  return matched;
}

export function select(options, { id, value, name, label } = {}) {
  return h('select', { id, name, 'aria-label': label },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}
