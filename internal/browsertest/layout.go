package browsertest

import "strings"

// layoutScript measures the boxes under one container (the argument's
// CSS selector) and returns what is wrong with them, one line each:
//   - a box whose content is wider than the box (scrollWidth past
//     clientWidth): text spills out or is clipped;
//   - text cut with an ellipsis;
//   - a line of text that lies outside its box, its container or the
//     window (measured on the text itself, with a Range);
//   - two boxes of one parent that overlap (cells of a row, a field's
//     label, control and hint, the fields of a form grid).
//
// The boxes are table cells and headers, form fields and what they hold,
// buttons, and whatever carries data-layout. Hidden boxes are skipped.
const layoutScript = `((sel) => {
  const root = document.querySelector(sel);
  if (!root) return ['no element matches ' + sel];
  const out = [];
  const tol = 1;
  const name = (e) => {
    let s = e.tagName.toLowerCase();
    if (e.id) s += '#' + e.id;
    for (const c of e.classList) s += '.' + c;
    for (const [k, v] of Object.entries(e.dataset)) if (k !== 'layout') s += '[' + k + '=' + v + ']';
    const t = (e.innerText || e.value || '').trim().replace(/\s+/g, ' ');
    return s + (t ? ' "' + t.slice(0, 60) + '"' : '');
  };
  const visible = (e) => {
    if (!e.getClientRects().length) return false;
    const cs = getComputedStyle(e);
    return cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const boxes = [...root.querySelectorAll('th, td, .field, .field > label, .field > .label, .field > input, .field > select, .field > textarea, .field > .hint, .field > .error, button, [data-layout]')].filter(visible);
  const rootRect = root.getBoundingClientRect();
  const within = (r, b) => r.left >= b.left - tol && r.right <= b.right + tol && r.top >= b.top - tol && r.bottom <= b.bottom + tol;
  const vw = document.documentElement.clientWidth;
  for (const e of boxes) {
    const cs = getComputedStyle(e);
    const form = /^(INPUT|SELECT|TEXTAREA)$/.test(e.tagName);
    if (!form && e.scrollWidth > e.clientWidth + tol && e.clientWidth > 0) {
      out.push(name(e) + ': content ' + e.scrollWidth + ' px wide in a box of ' + e.clientWidth + ' px');
    }
    if (cs.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + tol) {
      out.push(name(e) + ': text cut with an ellipsis');
    }
    const r = e.getBoundingClientRect();
    if (!within(r, rootRect)) {
      out.push(name(e) + ': box ' + Math.round(r.left) + '..' + Math.round(r.right) + ' outside its container ' + Math.round(rootRect.left) + '..' + Math.round(rootRect.right));
    }
    if (r.left < -tol || r.right > vw + tol) {
      out.push(name(e) + ': box ' + Math.round(r.left) + '..' + Math.round(r.right) + ' outside the window (0..' + vw + ')');
    }
    if (form) continue;
    // The text itself, line by line, against the box's padding box.
    const inner = { left: r.left + e.clientLeft, top: r.top + e.clientTop };
    inner.right = inner.left + e.clientWidth;
    inner.bottom = inner.top + e.clientHeight;
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim() || !visible(n.parentElement)) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      for (const lr of range.getClientRects()) {
        if (lr.width === 0) continue;
        if (!within(lr, inner)) {
          out.push(name(e) + ': text "' + n.textContent.trim().slice(0, 40) + '" at ' + Math.round(lr.left) + '..' + Math.round(lr.right) + ' x ' + Math.round(lr.top) + '..' + Math.round(lr.bottom) +
            ' leaves its box ' + Math.round(inner.left) + '..' + Math.round(inner.right) + ' x ' + Math.round(inner.top) + '..' + Math.round(inner.bottom));
          break;
        }
      }
    }
  }
  // Siblings must not overlap.
  const byParent = new Map();
  for (const e of boxes) {
    if (!byParent.has(e.parentElement)) byParent.set(e.parentElement, []);
    byParent.get(e.parentElement).push(e);
  }
  for (const list of byParent.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i].getBoundingClientRect();
        const b = list[j].getBoundingClientRect();
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const hgt = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > tol && hgt > tol) out.push(name(list[i]) + ' and ' + name(list[j]) + ' overlap by ' + Math.round(w) + 'x' + Math.round(hgt) + ' px');
      }
    }
  }
  return out;
})`

// LayoutProblems measures what the container sel holds (see layoutScript)
// and returns its problems, none when the layout holds.
func LayoutProblems(p *Page, sel string) []string {
	p.B.T.Helper()
	return Eval[[]string](p, "measure the layout of "+sel, layoutScript+"("+JS(sel)+")")
}

// CheckLayout fails the test for every layout problem under the container
// sel: text that overflows or leaves its box, text cut with an ellipsis,
// boxes outside the container or the window, siblings that overlap.
func CheckLayout(p *Page, sel string) {
	p.B.T.Helper()
	if probs := LayoutProblems(p, sel); len(probs) > 0 {
		p.Shot("LAYOUT-" + strings.Trim(strings.NewReplacer("#", "", ".", "-", " ", "-", "[", "", "]", "", "\"", "", "=", "-").Replace(sel), "-"))
		for _, pr := range probs {
			p.B.T.Errorf("layout of %s: %s", sel, pr)
		}
	}
}
