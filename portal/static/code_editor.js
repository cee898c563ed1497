// A JavaScript code editor: CodeJar (vendor/codejar) makes one element
// editable as plain text, keeps the caret across re-colouring, indents,
// and keeps an undo history; Prism (vendor/prism, core and its JavaScript
// grammar) splits the text into tokens. The coloured copy is built from
// Prism's tokens with text nodes only, like every view here, so the code
// a user types is never parsed as HTML. Both are plain ES modules or
// scripts served with the rest: no build step, and nothing the Content
// Security Policy forbids (CodeJar sets its styles through the CSSOM,
// which style-src does not govern).

import './prism_setup.js';
import './vendor/prism/prism-core.js';
import './vendor/prism/prism-clike.js';
import './vendor/prism/prism-javascript.js';
import { CodeJar } from './vendor/codejar/codejar.js';

/** tokenNodes turns Prism tokens (strings, tokens, arrays of both) into nodes. */
function tokenNodes(tokens, into) {
  for (const t of tokens) {
    if (typeof t === 'string') {
      into.append(t);
      continue;
    }
    const span = document.createElement('span');
    span.className = `tok tok-${t.type}` + (t.alias ? ` tok-${[].concat(t.alias).join(' tok-')}` : '');
    tokenNodes(Array.isArray(t.content) ? t.content : [t.content], span);
    into.append(span);
  }
}

/** paint colours el's text and notes which text it coloured. */
function paint(el) {
  const code = el.textContent;
  const frag = document.createDocumentFragment();
  tokenNodes(globalThis.Prism.tokenize(code, globalThis.Prism.languages.javascript), frag);
  el.replaceChildren(frag);
  el.lastPainted = code;
}

/**
 * codeEditor returns {el, input, value, set}: el is the framed editor to
 * place in a page, input the editable element (with id and label), value()
 * its text and set(code) replaces it.
 */
export function codeEditor(code, { id, label }) {
  const input = document.createElement('div');
  input.className = 'code-input';
  input.id = id;
  input.setAttribute('role', 'textbox');
  input.setAttribute('aria-multiline', 'true');
  input.setAttribute('aria-label', label);
  input.setAttribute('autocapitalize', 'off');
  input.setAttribute('autocorrect', 'off');
  // Auto-closing brackets is off: CodeJar does not step over the closing
  // one when it is typed, so typed code would double it.
  const jar = CodeJar(input, paint, { tab: '  ', addClosing: false });
  jar.updateCode(code, false);
  // CodeJar re-colours after key presses; text that arrives without one
  // (dropped, inserted by an input method or by assistive technology)
  // is coloured here, keeping the caret where it was. Input while a key
  // is down is left to CodeJar, so that a key press is coloured once.
  let keyDown = false;
  input.addEventListener('keydown', () => { keyDown = true; });
  input.addEventListener('keyup', () => { keyDown = false; });
  input.addEventListener('blur', () => { keyDown = false; });
  let timer = 0;
  input.addEventListener('input', () => {
    if (keyDown) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (input.textContent === input.lastPainted) return;
      if (document.activeElement !== input) {
        paint(input);
        return;
      }
      const pos = jar.save();
      paint(input);
      jar.restore(pos);
    }, 30);
  });
  // Tab indents; Escape then Tab leaves the editor, so that keyboards are
  // never trapped in it. In a dialog the first Escape only does that (a
  // second one closes the dialog as usual).
  let catchTab = true;
  const setCatch = (on) => {
    catchTab = on;
    jar.updateOptions({ catchTab: on });
  };
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      if (catchTab && input.closest('dialog')) ev.preventDefault();
      setCatch(false);
    } else if (ev.key !== 'Tab' && ev.key !== 'Shift') {
      setCatch(true);
    }
  }, { capture: true });
  input.addEventListener('focus', () => setCatch(true));
  const frame = document.createElement('div');
  frame.className = 'code-editor';
  frame.append(input);
  return { el: frame, input, value: () => jar.toString(), set: (c) => jar.updateCode(c, false) };
}
