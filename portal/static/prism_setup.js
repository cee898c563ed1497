// Runs before the vendored Prism (see code_editor.js, which imports this
// first): Prism reads these flags when it loads. manual keeps it from
// colouring every <code class="language-…"> on the page by itself; the
// editor asks for tokens and builds its own nodes.
globalThis.Prism = { ...globalThis.Prism, manual: true, disableWorkerMessageHandler: true };
