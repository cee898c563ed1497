// Inline SVG charts: stacked bars (succeeded / failed per bucket) with the
// success rate as a line. Built with createElementNS, so no markup is
// ever parsed; a text summary sits next to each chart for screen readers.

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, ...children) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

/**
 * barChart draws buckets ({start, succeeded, failed}) as stacked bars,
 * with the success rate per bucket as a line when rate is set, and a time
 * axis below. label names the chart for assistive technology; valueFn,
 * when set, draws one plain value per bucket instead; slots is the least
 * number of bars the width is shared by. The rate line breaks over
 * buckets without attempts (no attempts is no rate, not a slope between
 * the neighbours).
 */
export function barChart(buckets, { label, rate = true, valueFn, slots = 0 } = {}) {
  const W = 600;
  const H = 150;
  const pad = 4;
  // slots leaves room for buckets still to come (the rest of a month).
  const n = Math.max(buckets.length, slots, 1);
  const total = (b) => (valueFn ? valueFn(b) : b.succeeded + b.failed);
  const max = Math.max(1, ...buckets.map(total));
  const bw = (W - pad * 2) / n;
  const svg = el('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label || 'Chart' });
  svg.append(el('line', { class: 'axis', x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5 }));
  const segments = [[]];
  buckets.forEach((b, i) => {
    const x = pad + i * bw;
    const w = Math.max(bw - 2, 1);
    const okH = ((valueFn ? total(b) : b.succeeded) / max) * (H - 10);
    const failH = valueFn ? 0 : (b.failed / max) * (H - 10);
    const title = el('title');
    title.textContent = `${new Date(b.start).toLocaleString()}: ${valueFn ? total(b) : `${b.succeeded} succeeded, ${b.failed} failed`}`;
    const g = el('g', {}, title);
    if (okH > 0) g.append(el('rect', { class: 'ok', x, y: H - okH, width: w, height: okH }));
    if (failH > 0) g.append(el('rect', { class: 'fail', x, y: H - okH - failH, width: w, height: failH }));
    svg.append(g);
    const t = b.succeeded + b.failed;
    if (!rate || valueFn) return;
    if (t > 0) segments[segments.length - 1].push([x + w / 2, 4 + (1 - b.succeeded / t) * (H - 10)]);
    else if (segments[segments.length - 1].length) segments.push([]);
  });
  for (const seg of segments) {
    if (seg.length > 1) svg.append(el('polyline', { class: 'rate', points: seg.map((p) => p.join(',')).join(' ') }));
    else if (seg.length === 1) svg.append(el('line', { class: 'rate', x1: seg[0][0] - bw / 2, y1: seg[0][1], x2: seg[0][0] + bw / 2, y2: seg[0][1] }));
  }
  const box = document.createElement('div');
  box.className = 'chart-box';
  box.append(svg, timeAxis(buckets, n));
  return box;
}

// timeAxis labels five moments under the bars: the first slot's start,
// the last slot's, and three between, as times of day for buckets shorter
// than a day and as dates otherwise.
function timeAxis(buckets, n) {
  const axis = document.createElement('div');
  axis.className = 'chart-axis';
  axis.setAttribute('aria-hidden', 'true'); // the chart's label and summary say the window
  if (!buckets.length) return axis;
  const first = new Date(buckets[0].start).getTime();
  const step = buckets.length > 1 ? new Date(buckets[1].start).getTime() - first : 86400e3;
  const fmt = step < 86400e3
    ? new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
    : new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
  for (let k = 0; k < 5; k++) {
    const t = document.createElement('time');
    const at = new Date(first + Math.round((k * (n - 1)) / 4) * step);
    t.dateTime = at.toISOString();
    t.textContent = fmt.format(at);
    axis.append(t);
  }
  return axis;
}
