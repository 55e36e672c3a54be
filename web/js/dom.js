// Elements are built with h(); text is always set as textContent, never parsed as HTML.
// Visible text comes from t('key') or from API data, never from literals here.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'className') {
      el.className = value;
    } else if (name === 'value') {
      el.value = value;
    } else if (name === 'checked') {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

// The one way children are added: undefined, null and false are skipped. The DOM's own
// replaceChildren/append would print them as the words "null" and "undefined" (make web-check).
function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

let nextId = 0;
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

// Replaces el's children, as h() adds them.
export function replace(el, ...children) {
  clear(el);
  append(el, children);
}
