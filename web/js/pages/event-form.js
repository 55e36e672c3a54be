import { all, api } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { currentTimeZone, t } from '../i18n.js';
import { page, section, table } from '../page.js';
import { isoToWallTime, wallTimeToIso } from '../zones.js';
import { ASSIGNMENT_STATUS_KEYS, EVENT_STATUS_KEYS } from './common.js';

function tomorrowAt(hour) {
  const day = new Date(Date.now() + 86400000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}T${pad(hour)}:00`;
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
        field({ name: 'starts_at', label: t('field.starts'), type: 'datetime-local', value: event ? isoToWallTime(event.starts_at_local) : tomorrowAt(9), required: true, hint: t('events.zone_hint', { zone }) }),
        field({ name: 'ends_at', label: t('field.ends'), type: 'datetime-local', value: event ? isoToWallTime(event.ends_at_local) : tomorrowAt(12), required: true })),
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
      if (editing) await api.patch(`/events/${event.id}`, body);
      else await api.post('/events', body);
      ctx.navigate('/events', { flash: 'events.saved' });
    }, {
      fieldFor: (error) => (error.status === 422 && /ends_at/.test(error.detail) ? { field: 'ends_at', key: 'events.error.ends_before_starts' } : null),
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
            assignments.map((a) => [names.get(a.person_id) || String(a.person_id), a.role, t(ASSIGNMENT_STATUS_KEYS[a.status])]))
          : h('p', { className: 'empty' }, t('events.nobody_yet'))));
    }
    const titled = page(editing ? 'events.edit_title' : 'events.new_title', parts);
    return titled;
  },
};
