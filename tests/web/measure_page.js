// What a page shows and says (its text, the labels a screen reader reads) and the layout facts a
// phone user meets; read by tests/web/test_sweep.py. TOUCH_PX is filled in there.
(() => {
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const name = (el) => el.tagName.toLowerCase() + (el.name ? `[name=${el.name}]` : '')
    + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '')
    + ` "${(el.innerText || el.value || '').trim().slice(0, 30)}"`;
  const labels = [];
  for (const el of document.querySelectorAll('[aria-label], [placeholder], [title], [alt]')) {
    for (const attr of ['aria-label', 'placeholder', 'title', 'alt']) {
      if (el.hasAttribute(attr)) labels.push(el.getAttribute(attr));
    }
  }
  const clipped = [...document.querySelectorAll('main *')].filter((el) => {
    const overflow = getComputedStyle(el).overflowX;
    return (overflow === 'auto' || overflow === 'scroll') && el.scrollWidth > el.clientWidth + 1;
  }).map(name);
  const targets = 'main button, main a.button, main select, main input:not([type=checkbox]):not([type=radio]):not([type=hidden]), main textarea';
  const small = [...document.querySelectorAll(targets)].filter(shown).filter((el) => {
    const r = el.getBoundingClientRect();
    return r.height < TOUCH_PX - 0.5 || r.width < TOUCH_PX - 0.5;
  }).map((el) => `${name(el)} ${Math.round(el.getBoundingClientRect().width)}x${Math.round(el.getBoundingClientRect().height)}`);
  const offscreen = [...document.querySelectorAll(targets)].filter(shown).filter((el) => {
    const r = el.getBoundingClientRect();
    return r.right > window.innerWidth + 1 || r.left < -1;
  }).map(name);
  return {
    lang: document.documentElement.lang,
    text: document.body.innerText,
    labels,
    pageWidth: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    clipped, small, offscreen,
  };
})()
