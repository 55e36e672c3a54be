import { api } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { currentTimeZone, formatDay, formatWallTime, t, weekdayName } from '../i18n.js';
import { actionButton, empty, inlineAlert, page, section, table } from '../page.js';

function removeButton(ctx, label, path, alert) {
  return actionButton(t('action.remove'), {
    ariaLabel: label,
    alert,
    run: () => api.del(path),
    done: () => ctx.navigate('/availability', { flash: 'availability.removed' }),
  });
}

export default {
  title: 'availability.title',
  async render(ctx) {
    if (!ctx.me.person) return page('availability.title', empty('schedule.no_profile'));
    const personId = ctx.me.person.id;
    const { windows, time_off: timeOff } = await api.get(`/people/${personId}/availability`);
    const alert = inlineAlert();
    const weekdays = [0, 1, 2, 3, 4, 5, 6].map((day) => ({ value: day, label: weekdayName(day) }));
    const windowForm = h('form', { className: 'form', 'aria-labelledby': 'window-form-title' },
      h('h3', { id: 'window-form-title' }, t('availability.add_window')),
      formAlert(),
      h('div', { className: 'row' },
        field({ name: 'weekday', label: t('availability.weekday'), options: weekdays, value: 6 }),
        field({ name: 'start_time', label: t('availability.from'), type: 'time', value: '09:00', required: true }),
        field({ name: 'end_time', label: t('availability.until'), type: 'time', value: '13:00', required: true })),
      submitButton(t('availability.add_window')));
    bindForm(windowForm, async () => {
      await api.post(`/people/${personId}/availability`, {
        weekday: Number(value(windowForm, 'weekday')),
        start_time: value(windowForm, 'start_time') || null,
        end_time: value(windowForm, 'end_time') || null,
      });
      ctx.navigate('/availability', { flash: 'availability.saved' });
    });
    const timeOffForm = h('form', { className: 'form', 'aria-labelledby': 'time-off-form-title' },
      h('h3', { id: 'time-off-form-title' }, t('availability.add_time_off')),
      formAlert(),
      h('div', { className: 'row' },
        field({ name: 'starts_on', label: t('availability.first_day'), type: 'date', required: true }),
        field({ name: 'ends_on', label: t('availability.last_day'), type: 'date', required: true }),
        field({ name: 'reason', label: t('availability.reason') })),
      submitButton(t('availability.add_time_off')));
    bindForm(timeOffForm, async () => {
      await api.post(`/people/${personId}/time-off`, {
        starts_on: value(timeOffForm, 'starts_on') || null,
        ends_on: value(timeOffForm, 'ends_on') || null,
        reason: value(timeOffForm, 'reason'),
      });
      ctx.navigate('/availability', { flash: 'availability.saved' });
    });
    const windowRows = windows.map((w) => {
      const when = t('availability.window', { day: weekdayName(w.weekday), from: formatWallTime(w.start_time), until: formatWallTime(w.end_time) });
      return [when, removeButton(ctx, t('availability.remove_named', { what: when }), `/availability/${w.id}`, alert)];
    });
    const timeOffRows = timeOff.map((item) => {
      const when = t('availability.days', { from: formatDay(item.starts_on), until: formatDay(item.ends_on) });
      return [when, item.reason, removeButton(ctx, t('availability.remove_named', { what: when }), `/time-off/${item.id}`, alert)];
    });
    return page('availability.title',
      h('p', {}, t('availability.intro', { zone: currentTimeZone() })),
      alert,
      section(t('availability.weekly'),
        windows.length ? table(t('availability.weekly'), [t('field.when'), t('field.actions')], windowRows) : empty('availability.no_windows'),
        windowForm),
      section(t('availability.time_off'),
        timeOff.length ? table(t('availability.time_off'), [t('field.when'), t('availability.reason'), t('field.actions')], timeOffRows) : empty('availability.no_time_off'),
        timeOffForm));
  },
};
