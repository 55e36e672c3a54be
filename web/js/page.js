// The frame every page shares: one h1, a banner for the last action's outcome, sections.
import { ApiError } from './api.js';
import { h, uid } from './dom.js';
import { problemMessage } from './forms.js';
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

// A table inside a focusable, labelled region, so a wide one scrolls by keyboard.
// On a phone (app.css, max-width 40rem) each row is a card, each cell labelled by its column
// (data-label): nothing is off-screen to the right.
export function table(caption, headers, rows) {
  const id = uid('table');
  return h('div', { className: 'table-wrap', role: 'region', 'aria-labelledby': id, tabindex: '0' },
    h('table', {},
      h('caption', { id }, caption),
      h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, index) => h('td', { 'data-label': headers[index] }, cell)))))));
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

// Asks before an action that others will notice (publishing a schedule): a modal <dialog>,
// so focus stays inside it and Escape cancels. Resolves true when confirmed.
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const id = uid('dialog');
    const dialog = h('dialog', { className: 'confirm', 'aria-labelledby': id },
      h('form', { method: 'dialog' },
        h('p', { id }, message),
        h('div', { className: 'actions' },
          h('button', { type: 'submit', value: 'yes', className: 'primary' }, confirmLabel),
          h('button', { type: 'submit', value: 'no', className: 'secondary' }, t('action.cancel')))));
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === 'yes');
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

// An outcome next to the control that caused it (lists of rows with their own buttons).
export function showAlert(alert, text) {
  alert.textContent = text;
  alert.hidden = false;
  alert.tabIndex = -1;
  alert.focus();
}

// A button that runs one request, then `done(result)` (usually a navigation with a flash).
// It stays disabled while the request runs (and after `done`, until the page re-renders),
// so a double click sends once; without `done` it is enabled again. `confirm`: a question
// asked first, confirmed with `label`. A failure is shown in `alert` and focused; `messages`
// as for problemMessage.
export function actionButton(label, { run, done, alert, confirm, messages, className = 'secondary', ariaLabel } = {}) {
  const button = h('button', { type: 'button', className, 'aria-label': ariaLabel }, label);
  button.addEventListener('click', async () => {
    if (confirm && !(await confirmDialog(confirm, label))) return;
    button.disabled = true;
    let result;
    try {
      result = await run();
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      button.disabled = false;
      showAlert(alert, problemMessage(error, messages));
      return;
    }
    if (done) done(result);
    else button.disabled = false;
  });
  return button;
}
