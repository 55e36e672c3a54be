// The frame every page shares: one h1, a banner for the last action's outcome, sections.
import { h, uid } from './dom.js';
import { t } from './i18n.js';

export function page(titleKey, ...children) {
  return h('div', { className: 'page' },
    h('h1', { id: 'page-title' }, t(titleKey)),
    h('p', { className: 'flash', hidden: true }),
    children);
}

export function section(title, ...children) {
  const id = uid('section');
  return h('section', { className: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

// A table inside a focusable, labelled region, so it scrolls by keyboard on a phone.
export function table(caption, headers, rows) {
  const id = uid('table');
  return h('div', { className: 'table-wrap', role: 'region', 'aria-labelledby': id, tabindex: '0' },
    h('table', {},
      h('caption', { id }, caption),
      h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell)))))));
}

export function empty(key) {
  return h('p', { className: 'empty' }, t(key));
}

export function linkButton(href, label) {
  return h('a', { className: 'button', href }, label);
}

export function inlineAlert() {
  return h('p', { className: 'form-error', role: 'alert', hidden: true });
}

export function roleList(roles) {
  return roles.length ? h('ul', { className: 'chips' }, roles.map((role) => h('li', {}, role))) : '';
}
