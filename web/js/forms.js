// Labelled inputs and the submit cycle: a failed request never clears what was typed; its
// problem is shown next to the input it concerns (or at the top of the form) and focused.
import { ApiError } from './api.js';
import { h, uid } from './dom.js';
import { hasMessage, t } from './i18n.js';

const PROBLEM_KEYS = {
  '/problems/slot-full': 'error.slot_full',
  '/problems/already-assigned': 'error.already_assigned',
  '/problems/conflict': 'error.conflict',
  '/problems/not-found': 'error.not_found',
  '/problems/forbidden': 'error.forbidden',
  '/problems/unauthenticated': 'error.unauthenticated',
  '/problems/rate-limited': 'error.rate_limited',
  '/problems/unavailable': 'error.unavailable',
  '/problems/invalid-input': 'error.invalid_input',
  '/problems/network': 'error.network',
};

const FIELD_KEYS = {
  missing: 'error.field.missing',
  string_too_short: 'error.field.too_short',
  string_too_long: 'error.field.too_long',
  too_short: 'error.field.too_short',
  too_long: 'error.field.too_long',
  string_pattern_mismatch: 'error.field.pattern',
  one_line: 'error.field.one_line',
  value_error: 'error.field.invalid',
  int_parsing: 'error.field.number',
  int_type: 'error.field.number',
  greater_than_equal: 'error.field.range',
  less_than_equal: 'error.field.range',
  greater_than: 'error.field.range',
  less_than: 'error.field.range',
  datetime_parsing: 'error.field.datetime',
  datetime_from_date_parsing: 'error.field.datetime',
  date_parsing: 'error.field.date',
  date_from_datetime_parsing: 'error.field.date',
  time_parsing: 'error.field.time',
  enum: 'error.field.choice',
  literal_error: 'error.field.choice',
};

// The message for the problem's `code` with its `params`, or null when there is no code or
// the locale files do not know it yet (a newer server): then the type's message applies.
function codedMessage(error) {
  if (!(error instanceof ApiError) || !error.code) return null;
  const key = `problem.${error.code}`;
  return hasMessage(key) ? t(key, error.params) : null;
}

// `messages`: keys that replace the generic one, by problem type or by status (e.g. 404);
// they say what the page means, so they win over the code's message.
export function problemMessage(error, messages = {}) {
  if (error instanceof ApiError) {
    const override = messages[error.type] || messages[error.status];
    if (override) return t(override);
    return codedMessage(error) || t(PROBLEM_KEYS[error.type] || 'error.unexpected');
  }
  return t('error.unexpected');
}

// A field's error in the interface's language: the message of its code when the locale has
// one ("problem.<code>", with its params), else the message of its kind; an empty required
// text says it is required, not "too short".
function fieldMessage(fieldError) {
  const coded = `problem.${fieldError.code}`;
  if (fieldError.code && hasMessage(coded)) return t(coded, fieldError.params);
  if (fieldError.type === 'string_too_short' && fieldError.params.min_length === 1) return t('error.field.missing');
  return t(FIELD_KEYS[fieldError.type] || 'error.field.invalid');
}

// One labelled control. `options`: [{value, label}] makes a <select>.
export function field({ name, label, type = 'text', value = '', required = false, autocomplete, options, hint, attrs = {} }) {
  const id = uid(`f-${name.replace(/\W/g, '-')}`);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : undefined;
  let control;
  if (options) {
    control = h('select', { id, name, 'aria-describedby': hintId, ...attrs },
      options.map((option) => h('option', { value: option.value, selected: String(option.value) === String(value) }, option.label)));
  } else if (type === 'textarea') {
    control = h('textarea', { id, name, rows: 3, 'aria-describedby': hintId, ...attrs });
    control.value = value ?? '';
  } else if (type === 'checkbox') {
    control = h('input', { id, name, type, checked: Boolean(value), 'aria-describedby': hintId, ...attrs });
  } else {
    control = h('input', { id, name, type, value: value ?? '', autocomplete, 'aria-describedby': hintId, ...attrs });
  }
  if (required) control.setAttribute('aria-required', 'true');
  const labelEl = h('label', { for: id }, label, required ? h('span', { className: 'required', 'aria-hidden': 'true' }, ' *') : null);
  const wrapper = h('div', { className: type === 'checkbox' ? 'field field-checkbox' : 'field' },
    type === 'checkbox' ? [control, labelEl] : [labelEl, control],
    hint ? h('p', { className: 'hint', id: hintId }, hint) : null,
    h('p', { className: 'field-error', id: errorId, hidden: true }));
  return wrapper;
}

export function submitButton(label) {
  return h('button', { type: 'submit', className: 'primary' }, label);
}

export function formAlert() {
  return h('div', { className: 'form-error', role: 'alert', hidden: true, tabindex: '-1' });
}

export function value(form, name) {
  const control = form.elements.namedItem(name);
  if (!control) return undefined;
  if (control.type === 'checkbox') return control.checked;
  return control.value.trim();
}

function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute('aria-invalid');
    const errorId = `${el.id}-error`;
    const described = (el.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== errorId);
    if (described.length) el.setAttribute('aria-describedby', described.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  for (const el of form.querySelectorAll('.field-error')) {
    el.textContent = '';
    el.hidden = true;
  }
  const alert = form.querySelector('.form-error');
  if (alert) {
    alert.textContent = '';
    alert.hidden = true;
  }
}

export function showFieldError(form, name, message) {
  const control = form.elements.namedItem(name);
  if (!control || !control.id) return null;
  const errorEl = form.querySelector(`#${CSS.escape(control.id)}-error`);
  if (!errorEl) return null;
  errorEl.textContent = message;
  errorEl.hidden = false;
  control.setAttribute('aria-invalid', 'true');
  const described = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  if (!described.includes(errorEl.id)) described.push(errorEl.id);
  control.setAttribute('aria-describedby', described.join(' '));
  return control;
}

export function showFormError(form, message, detail) {
  const alert = form.querySelector('.form-error');
  alert.textContent = message;
  if (detail) alert.appendChild(h('span', { className: 'detail', lang: 'en' }, ` (${detail})`));
  alert.hidden = false;
  return alert;
}

// Errors of a problem body: each one next to its input, the rest at the top of the form.
export function showError(form, error, { fieldFor, messages } = {}) {
  let first = null;
  let unplaced = false;
  if (error instanceof ApiError && error.fieldErrors.length) {
    for (const fieldError of error.fieldErrors) {
      const control = showFieldError(form, fieldError.field, fieldMessage(fieldError));
      if (control) first = first || control;
      else unplaced = true;
    }
  }
  const placed = fieldFor ? fieldFor(error) : null;
  if (placed) {
    const control = showFieldError(form, placed.field, t(placed.key));
    if (control) first = first || control;
  }
  if (!first || unplaced) {
    const overridden = messages && error instanceof ApiError && (messages[error.type] || messages[error.status]);
    // The English detail only when nothing translated says what went wrong.
    const translated = overridden || codedMessage(error);
    const detail = error instanceof ApiError && !error.fieldErrors.length && !translated ? error.detail : '';
    const alert = showFormError(form, problemMessage(error, messages), detail);
    first = first || alert;
  }
  first.focus();
}

// Runs `submit(form)`; on an ApiError shows it and keeps every value typed.
export function bindForm(form, submit, options = {}) {
  form.noValidate = true;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await submit(form);
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      showError(form, error, options);
    } finally {
      if (button) button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}
