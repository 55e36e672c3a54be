import { all, api } from '../api.js';
import { h, replace, uid } from '../dom.js';
import { bindForm, field, formAlert, showFormError, submitButton, value } from '../forms.js';
import { currentTimeZone, formatDateTime, t, weekdayName } from '../i18n.js';
import { confirmDialog, page, section, table } from '../page.js';
import { isoToWallTime, todayIn, wallTimeToIso } from '../zones.js';
import { ASSIGNMENT_STATUS_KEYS, EVENT_STATUS_KEYS } from './common.js';

// The rule an admin overrode to place someone away then (assignments' `overridden_rule`).
const OVERRIDDEN_KEYS = { time_off: 'events.overridden.time_off', availability: 'events.overridden.availability' };

// A datetime-local value for tomorrow at `hour` o'clock in the organisation's zone.
function tomorrowAt(hour, zone) {
  return `${todayIn(zone, 1)}T${String(hour).padStart(2, '0')}:00`;
}

function slotRow(list, index, slot = { role: '', capacity: 1 }) {
  const row = h('li', { className: 'slot-row' },
    field({ name: `slots.${index}.role`, label: t('events.slot_role', { n: index + 1 }), value: slot.role, required: true }),
    field({ name: `slots.${index}.capacity`, label: t('events.slot_capacity', { n: index + 1 }), type: 'number', value: slot.capacity, required: true, attrs: { min: '1', inputmode: 'numeric' } }),
    h('button', {
      type: 'button',
      className: 'secondary',
      'aria-label': t('events.remove_slot', { n: index + 1 }),
      onclick: () => { row.remove(); },
    }, t('action.remove')));
  list.appendChild(row);
}

function readSlots(form) {
  const slots = [];
  for (const row of form.querySelectorAll('.slot-row')) {
    const role = row.querySelector('input[name$=".role"]').value.trim();
    const capacity = row.querySelector('input[name$=".capacity"]').value.trim();
    slots.push({ role, capacity: capacity === '' || Number.isNaN(Number(capacity)) ? null : Number(capacity) });
  }
  return slots;
}

// Slot inputs are named by their position when sent, so errors find them (slots.1.capacity).
function renumber(form) {
  form.querySelectorAll('.slot-row').forEach((row, index) => {
    row.querySelector('input[name$=".role"]').name = `slots.${index}.role`;
    row.querySelector('input[name$=".capacity"]').name = `slots.${index}.capacity`;
  });
}

const BYDAY = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const PREVIEW_LIMIT = 12;

function weekdayOf(day) {
  return (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
}

function addDays(day, n) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + n);
  return date.toISOString().slice(0, 10);
}

// Weekly on chosen weekdays, from the first start, ending after COUNT times or on a day
// (UNTIL, inclusive, in the organisation's zone): the same dates the server's rule makes.
function occurrences(first, days, end, count, until) {
  const [day, time] = first.split('T');
  const found = [];
  if (!day || !time || !days.length) return found;
  for (let i = 0; i < 3660 && found.length < 366; i += 1) {
    const current = addDays(day, i);
    if (end === 'until' && (!until || current > until)) break;
    if (days.includes(weekdayOf(current))) found.push(`${current}T${time}`);
    if (end === 'count' && found.length >= count) break;
  }
  return found;
}

function repeatFieldset(form, zone) {
  const preview = h('div', { className: 'preview', 'aria-live': 'polite' });
  const dayBoxes = BYDAY.map((code, weekday) => {
    const id = uid('byday');
    return h('div', { className: 'field-checkbox' },
      h('input', { type: 'checkbox', id, name: 'byday', value: String(weekday) }),
      h('label', { for: id }, weekdayName(weekday)));
  });
  const options = h('div', { className: 'repeat-options', hidden: true },
    h('fieldset', { className: 'checkboxes weekdays' }, h('legend', {}, t('repeat.on_days')), dayBoxes),
    h('div', { className: 'row' },
      field({ name: 'repeat_end', label: t('repeat.ends'), value: 'count', options: [{ value: 'count', label: t('repeat.after_count') }, { value: 'until', label: t('repeat.on_day') }] }),
      field({ name: 'repeat_count', label: t('repeat.count'), type: 'number', value: 4, attrs: { min: '1', max: '366', inputmode: 'numeric' } }),
      field({ name: 'repeat_until', label: t('repeat.until'), type: 'date' })),
    preview);
  const fieldset = h('fieldset', { className: 'repeat' }, h('legend', {}, t('repeat.title')),
    field({ name: 'repeat', label: t('repeat.weekly'), type: 'checkbox', value: false }),
    options);
  const update = () => {
    const on = fieldset.querySelector('[name=repeat]').checked;
    options.hidden = !on;
    if (!on) return;
    const end = form.elements.repeat_end.value;
    form.elements.repeat_count.closest('.field').hidden = end !== 'count';
    form.elements.repeat_until.closest('.field').hidden = end !== 'until';
    const dates = seriesDates(form);
    replace(preview,
      h('p', { className: 'hint', 'data-testid': 'repeat-count' }, dates.length
        ? t('repeat.preview', { count: dates.length, zone })
        : t('repeat.preview_none')),
      h('ol', { className: 'preview-dates' }, dates.slice(0, PREVIEW_LIMIT).map((date) => h('li', {}, formatDateTime(wallTimeToIso(date, zone))))),
      dates.length > PREVIEW_LIMIT ? h('p', { className: 'hint' }, t('repeat.more', { count: dates.length - PREVIEW_LIMIT })) : null);
  };
  fieldset.addEventListener('change', update);
  fieldset.addEventListener('input', update);
  return { fieldset, update };
}

function chosenDays(form) {
  return [...form.querySelectorAll('input[name="byday"]:checked')].map((input) => Number(input.value));
}

function seriesDates(form) {
  return occurrences(form.elements.starts_at.value, chosenDays(form), form.elements.repeat_end.value,
    Number(form.elements.repeat_count.value) || 0, form.elements.repeat_until.value);
}

// The first event's start and end: the series starts on its first date (the server refuses a
// start its rule skips), with the same times and length as typed.
function firstOccurrence(form, zone) {
  const [first] = seriesDates(form);
  const starts = value(form, 'starts_at');
  const ends = value(form, 'ends_at');
  if (!first || !starts || !ends) return {};
  const days = Math.round((Date.parse(`${first.slice(0, 10)}T00:00:00Z`) - Date.parse(`${starts.slice(0, 10)}T00:00:00Z`)) / 86400000);
  const [endDay, endTime] = ends.split('T');
  return { starts_at: wallTimeToIso(first, zone), ends_at: wallTimeToIso(`${addDays(endDay, days)}T${endTime}`, zone) };
}

function rrule(form) {
  const days = chosenDays(form).map((weekday) => BYDAY[weekday]).join(',');
  const end = form.elements.repeat_end.value === 'until'
    ? `UNTIL=${form.elements.repeat_until.value.replace(/-/g, '')}`
    : `COUNT=${form.elements.repeat_count.value}`;
  return `FREQ=WEEKLY;BYDAY=${days};${end}`;
}

export default {
  title: 'events.form_title',
  async render(ctx) {
    const editing = ctx.params.id !== undefined;
    const [event, teams] = await Promise.all([
      editing ? api.get(`/events/${ctx.params.id}`) : null,
      all('/teams'),
    ]);
    const zone = currentTimeZone();
    const slotList = h('ol', { className: 'slots' });
    const form = h('form', { className: 'form', 'aria-labelledby': 'page-title' },
      formAlert(),
      field({ name: 'title', label: t('field.title'), value: event ? event.title : '', required: true }),
      field({ name: 'description', label: t('field.description'), type: 'textarea', value: event ? event.description : '' }),
      field({ name: 'location', label: t('field.location'), value: event ? event.location : '' }),
      h('div', { className: 'row' },
        field({ name: 'starts_at', label: t('field.starts'), type: 'datetime-local', value: event ? isoToWallTime(event.starts_at_local) : tomorrowAt(9, zone), required: true, hint: t('events.zone_hint', { zone }) }),
        field({ name: 'ends_at', label: t('field.ends'), type: 'datetime-local', value: event ? isoToWallTime(event.ends_at_local) : tomorrowAt(12, zone), required: true })),
      h('div', { className: 'row' },
        field({ name: 'status', label: t('field.status'), value: event ? event.status : 'draft', options: Object.keys(EVENT_STATUS_KEYS).map((status) => ({ value: status, label: t(EVENT_STATUS_KEYS[status]) })) }),
        field({ name: 'team_id', label: t('field.team'), value: event && event.team_id ? event.team_id : '', options: [{ value: '', label: t('events.no_team') }, ...teams.map((team) => ({ value: team.id, label: team.name }))] })),
      h('fieldset', {}, h('legend', {}, t('events.slots')),
        h('p', { className: 'hint' }, t('events.slots_hint')),
        slotList,
        h('button', {
          type: 'button',
          className: 'secondary',
          onclick: () => {
            slotRow(slotList, slotList.children.length);
            slotList.lastElementChild.querySelector('input').focus();
          },
        }, t('events.add_slot'))),
      submitButton(t('action.save')));
    if (editing && event.series_id) {
      // An occurrence of a recurring series: the change may go to the later ones too.
      form.insertBefore(field({
        name: 'scope',
        label: t('events.apply_to'),
        value: 'this',
        options: [{ value: 'this', label: t('events.scope_this') }, { value: 'following', label: t('events.scope_following') }],
      }), form.querySelector('button[type="submit"]'));
    }
    let repeat = null;
    if (!editing) {
      repeat = repeatFieldset(form, zone);
      form.insertBefore(repeat.fieldset, form.querySelector('button[type="submit"]'));
      // Until the weekdays are chosen by hand, they follow the first day's weekday.
      let daysTouched = false;
      repeat.fieldset.addEventListener('change', (event) => { if (event.target.name === 'byday') daysTouched = true; });
      const followStart = () => {
        const start = form.elements.starts_at.value;
        if (!daysTouched && start) {
          for (const box of form.querySelectorAll('input[name="byday"]')) box.checked = Number(box.value) === weekdayOf(start.slice(0, 10));
        }
        repeat.update();
      };
      form.elements.starts_at.addEventListener('input', followStart);
      form.elements.starts_at.addEventListener('change', followStart);
      const firstDay = form.elements.starts_at.value.slice(0, 10);
      if (firstDay) form.querySelector(`input[name="byday"][value="${weekdayOf(firstDay)}"]`).checked = true;
    }
    const slots = event ? event.slots : [{ role: '', capacity: 1 }];
    slots.forEach((slot, index) => slotRow(slotList, index, slot));
    const wall = (name) => {
      const text = value(form, name);
      return text ? wallTimeToIso(text, zone) : null;
    };
    bindForm(form, async () => {
      renumber(form);
      const body = {
        title: value(form, 'title'),
        description: value(form, 'description'),
        location: value(form, 'location'),
        starts_at: wall('starts_at'),
        ends_at: wall('ends_at'),
        status: value(form, 'status'),
        team_id: value(form, 'team_id') ? Number(value(form, 'team_id')) : null,
        slots: readSlots(form),
      };
      // A new event in the past is most likely a typo (2020 for 2030): asked, not refused,
      // since an organiser may record one that happened.
      if (!editing && body.starts_at && Date.parse(body.starts_at) < Date.now()
        && !(await confirmDialog(t('events.confirm_past', { when: formatDateTime(body.starts_at) }), t('events.create_anyway')))) return;
      if (editing) await api.patch(`/events/${event.id}?scope=${form.elements.scope ? value(form, 'scope') : 'this'}`, body);
      else if (value(form, 'repeat')) {
        if (!chosenDays(form).length) {
          showFormError(form, t('repeat.error.no_days')).focus();
          return;
        }
        const series = await api.post('/event-series', { ...body, ...firstOccurrence(form, zone), rrule: rrule(form) });
        ctx.navigate('/events', { flash: 'repeat.saved', params: { count: series.occurrences.length } });
        return;
      } else await api.post('/events', body);
      ctx.navigate('/events', { flash: 'events.saved' });
    }, {
      fieldFor: (error) => {
        if (error.status !== 422) return null;
        if (form.elements.repeat_end && error.code.startsWith('recurrence.')) {
          return { field: form.elements.repeat_end.value === 'until' ? 'repeat_until' : 'repeat_count', key: 'repeat.error.rule' };
        }
        return null;
      },
    });
    const parts = [form];
    if (editing) {
      const [assignments, people] = await Promise.all([
        all(`/events/${event.id}/assignments`),
        all('/people'),
      ]);
      const names = new Map(people.map((person) => [person.id, person.name]));
      parts.push(section(t('events.assigned'),
        assignments.length
          ? table(t('events.assigned'), [t('field.name'), t('field.role'), t('field.status')],
            assignments.map((a) => [names.get(a.person_id) || String(a.person_id), a.role, a.overridden_rule
              ? h('span', {}, t(ASSIGNMENT_STATUS_KEYS[a.status]), ' ', h('span', { className: 'badge full', 'data-testid': 'overridden' }, t(OVERRIDDEN_KEYS[a.overridden_rule])))
              : t(ASSIGNMENT_STATUS_KEYS[a.status])]))
          : h('p', { className: 'empty' }, t('events.nobody_yet'))));
    }
    const titled = page(editing ? 'events.edit_title' : 'events.new_title', parts);
    return titled;
  },
};
