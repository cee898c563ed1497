// Overview: attempts per minute over the last hour and per hour over the
// last day (succeeded, failed, success rate), the endpoints in trouble
// across applications, and the tenant's share of the delivery queue.

import { h, fill, loading, empty, errorState, when, fmtRelative } from '../../../portal/assets/ui.js';
import { barChart } from './chart.js';

const enc = encodeURIComponent;
const pct = (r) => (r == null ? '—' : `${(r * 100).toFixed(r === 1 ? 0 : 1)} %`);

function seriesCard(id, title, s, unit) {
  const perMin = (s.succeeded + s.failed) / ((s.buckets.length * s.stepSeconds) / 60);
  return h('section.card', { id, 'aria-labelledby': `${id}-title` },
    h('div.card-head', h('h2', { id: `${id}-title` }, title)),
    h('div.card-body.stack',
      h('div.stats',
        h('div.stat', h('div.value', { dataset: { figure: 'deliveries' } }, String(s.succeeded + s.failed)), h('div.label', 'Attempts')),
        h('div.stat', h('div.value', perMin.toFixed(perMin < 1 ? 2 : perMin < 10 ? 1 : 0)), h('div.label', 'Per minute')),
        h('div.stat.ok', h('div.value', { dataset: { figure: 'success-rate' } }, pct(s.successRate)), h('div.label', 'Success rate')),
        h('div.stat.fail', h('div.value', String(s.failed)), h('div.label', 'Failed attempts'))),
      barChart(s.buckets, { label: `${title}: ${s.succeeded} succeeded and ${s.failed} failed attempts, ${unit}` }),
      h('div.chart-legend', h('span', h('span.sw.ok'), 'Succeeded'), h('span', h('span.sw.fail'), 'Failed'), h('span', h('span.sw.rate'), 'Success rate'))));
}

export async function overviewPage(ctx, main) {
  main.dataset.page = 'overview';
  main.append(h('div.page-head', h('div', h('h1', { tabindex: '-1' }, 'Overview'),
    h('p.lede', 'How your webhooks are doing across all your applications.'))));
  const body = h('div.stack', loading());
  main.append(body);

  async function draw() {
    const o = await ctx.capi.get('overview');
    if (!ctx.alive()) return;
    const q = o.queue;
    const troubled = o.troubledEndpoints.length
      ? h('ul.list', { id: 'troubled', 'aria-label': 'Endpoints in trouble' }, o.troubledEndpoints.map((e) => h('li',
        h('a.row.trouble-row', { href: `#/apps/${enc(e.appId)}`, dataset: { endpointId: e.id } },
          h('span.cell-stack', h('span.primary-text.mono', { title: e.url }, e.url), h('span.secondary-text', e.description || e.id)),
          h('span.secondary-text', e.appName),
          e.disabled ? h('span.pill.off', 'Disabled') : h('span.pill.fail', { title: `Failing since ${new Date(e.failingSince).toLocaleString()}` }, `Failing since ${fmtRelative(e.failingSince).replace(/ ago$/, '')}`)))))
      : h('div', { id: 'troubled' }, empty({ iconName: 'check', title: 'No endpoint in trouble', text: 'Every endpoint is enabled and its latest deliveries went through.' }));
    fill(body,
      h('div.overview-grid', seriesCard('chart-hour', 'Last hour', o.hour, 'per minute'), seriesCard('chart-day', 'Last 24 hours', o.day, 'per hour')),
      h('div.overview-grid',
        h('section.card', { 'aria-labelledby': 'queue-title', id: 'queue' },
          h('div.card-head', h('h2', { id: 'queue-title' }, 'Delivery queue'), h('span.live', 'Updates live')),
          h('div.card-body.stack',
            h('div', h('div.figure', { id: 'queue-depth' }, String(q.pending)), h('p.note', 'deliveries waiting for a successful attempt or their next retry')),
            h('dl.kv',
              h('dt', 'Oldest pending'), h('dd', { id: 'queue-oldest' }, q.oldestCreatedAt ? [when(q.oldestCreatedAt), ` (${fmtRelative(q.oldestCreatedAt)})`] : 'None waiting'),
              h('dt', 'Next attempt'), h('dd', q.nextAttemptAt ? when(q.nextAttemptAt) : '—')))),
        h('section.card', { 'aria-labelledby': 'troubled-title' },
          h('div.card-head', h('h2', { id: 'troubled-title' }, 'Failing and disabled endpoints'), h('span.sub', String(o.troubledEndpoints.length))),
          troubled)));
  }
  try {
    await draw();
  } catch (err) {
    if (err.status === 401) return;
    fill(body, h('div.card', errorState(err, () => ctx.navigate(location.hash))));
    return;
  }
  ctx.poll(draw, 10000, { immediate: false });
}
