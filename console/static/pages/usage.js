// Usage and billing: deliveries per day against the plan's cap, the
// current period and the billing status.

import { h, fill, loading, empty, errorState, fmtDate, callout, when } from '../../../portal/assets/ui.js';
import { barChart } from './chart.js';

const STATUS = { ok: ['In good standing', 'ok'], past_due: ['Payment past due', 'warn'], payment_required: ['Payment required', 'fail'] };

export async function usagePage(ctx, main) {
  main.dataset.page = 'usage';
  main.append(h('div.page-head', h('div', h('h1', { tabindex: '-1' }, 'Usage and billing'),
    h('p.lede', 'Billed deliveries per day and this period against your plan.'))));
  const body = h('div.stack', loading());
  main.append(body);
  let u;
  let inv = { enabled: false, data: [] };
  try {
    [u, inv] = await Promise.all([ctx.api.get('usage'), ctx.capi.get('invoices').catch((e) => {
      if (e.status === 401) throw e;
      return { enabled: true, data: [], error: e };
    })]);
  } catch (err) {
    if (err.status === 401) return;
    fill(body, err.status === 404
      ? h('div.card', empty({ iconName: 'info', title: 'Usage is not metered here', text: 'This Hookline runs without billing, so there is no plan or cap to show.' }))
      : h('div.card', errorState(err, () => ctx.navigate(location.hash))));
    return;
  }
  if (!ctx.alive()) return;
  const p = u.period;
  const [stLabel, stCls] = STATUS[u.paymentStatus] || [u.paymentStatus, 'off'];
  const share = p.cap ? Math.min(1, p.deliveries / p.cap) : 0;
  const days = u.data.map((d) => ({ start: d.date, succeeded: d.deliveries, failed: 0 }));
  fill(body,
    p.exceeded ? callout('error', 'This period’s cap is reached: new messages are refused (429) until the period ends or the plan changes.') : null,
    h('div.overview-grid',
      h('section.card', { 'aria-labelledby': 'period-title', id: 'usage-period' },
        h('div.card-head', h('h2', { id: 'period-title' }, 'This period'), h(`span.pill.${stCls}`, { id: 'billing-status' }, stLabel)),
        h('div.card-body.stack',
          h('div', h('div.figure', { id: 'usage-deliveries' }, p.deliveries.toLocaleString()), h('p.note', p.cap ? `of ${p.cap.toLocaleString()} deliveries on the ${p.plan} plan` : `deliveries on the ${p.plan} plan (no cap)`)),
          p.cap ? h('div.usage-bar', { class: p.exceeded ? 'over' : '', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(p.cap), 'aria-valuenow': String(p.deliveries), 'aria-label': 'Share of the cap used' }, h('span', { id: 'usage-bar-fill' })) : null,
          h('dl.kv', h('dt', 'Plan'), h('dd', { id: 'usage-plan' }, p.plan), h('dt', 'Period'), h('dd', `${fmtDate(p.start)} – ${fmtDate(p.end)}`),
            h('dt', 'Remaining'), h('dd', p.remaining == null ? 'Unlimited' : p.remaining.toLocaleString())))),
      h('section.card', { 'aria-labelledby': 'days-title' },
        h('div.card-head', h('h2', { id: 'days-title' }, 'Deliveries per day')),
        h('div.card-body', days.length ? barChart(days, { label: `Deliveries per day from ${u.since} to ${u.until}`, valueFn: (b) => b.succeeded, slots: Math.round((new Date(p.end) - new Date(p.start)) / 86400e3) }) : h('p.note', 'No deliveries in this window.')))),
    inv.enabled ? invoicesCard(inv) : null);
  const fillEl = document.getElementById('usage-bar-fill');
  // CSSOM writes are allowed under style-src 'self'; a style attribute would not be.
  if (fillEl) fillEl.style.width = `${(share * 100).toFixed(1)}%`;
}

const money = (amount, currency) => {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
};
const INVOICE = { paid: 'ok', open: 'warn', draft: 'off', void: 'off', uncollectible: 'fail' };

function invoicesCard(inv) {
  let body;
  if (inv.error) body = errorState(inv.error);
  else if (!inv.data.length) body = empty({ iconName: 'book', title: 'No invoices yet', text: 'Invoices appear here once Stripe issues the first one.' });
  else {
    body = h('ul.list', { id: 'invoice-list', 'aria-label': 'Invoices' }, inv.data.map((i) => h('li', h('div.row.key-row', { dataset: { invoiceId: i.id } },
      h('span.cell-stack', h('span.primary-text.mono', i.number || i.id), h('span.secondary-text', when(i.created))),
      h('span.primary-text', money(i.total, i.currency)),
      h('span.secondary-text', i.amountPaid >= i.total ? 'Paid in full' : `${money(i.amountDue, i.currency)} due`),
      h(`span.pill.${INVOICE[i.status] || 'off'}`, i.status || 'unknown'),
      h('span.key-actions', i.hostedUrl ? h('a.btn.small', { href: i.hostedUrl, target: '_blank', rel: 'noopener noreferrer' }, 'View') : null)))));
  }
  return h('section.card', { 'aria-labelledby': 'invoices-title', id: 'invoices' },
    h('div.card-head', h('h2', { id: 'invoices-title' }, 'Invoices'), h('span.sub', 'From Stripe')), body);
}
