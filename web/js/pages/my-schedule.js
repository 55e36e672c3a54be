import { all, api } from '../api.js';
import { h } from '../dom.js';
import { problemMessage } from '../forms.js';
import { formatTimeRange, t } from '../i18n.js';
import { empty, inlineAlert, page, section, table } from '../page.js';
import { ASSIGNMENT_STATUS_KEYS } from './common.js';

export default {
  title: 'schedule.title',
  async render(ctx) {
    if (!ctx.me.person) return page('schedule.title', empty('schedule.no_profile'));
    const assignments = await all('/assignments', { person_id: ctx.me.person.id, from: new Date().toISOString() });
    const ids = [...new Set(assignments.map((a) => a.event_id))];
    const events = new Map((await Promise.all(ids.map((id) => api.get(`/events/${id}`)))).map((event) => [event.id, event]));
    const alert = inlineAlert();
    const rows = assignments.map((assignment) => {
      const event = events.get(assignment.event_id);
      return [
        event.title,
        formatTimeRange(event.starts_at, event.ends_at),
        event.location,
        assignment.role,
        t(ASSIGNMENT_STATUS_KEYS[assignment.status]),
        h('button', {
          type: 'button',
          className: 'secondary',
          'aria-label': t('schedule.withdraw_named', { title: event.title, role: assignment.role }),
          onclick: async () => {
            if (!window.confirm(t('schedule.confirm_withdraw', { title: event.title }))) return;
            try {
              await api.del(`/assignments/${assignment.id}`);
              ctx.navigate('/my-schedule', { flash: 'schedule.withdrawn' });
            } catch (error) {
              alert.textContent = problemMessage(error);
              alert.hidden = false;
            }
          },
        }, t('schedule.withdraw')),
      ];
    });
    return page('schedule.title',
      alert,
      section(t('schedule.upcoming'),
        assignments.length
          ? table(t('schedule.table_caption'), [t('field.event'), t('field.when'), t('field.location'), t('field.role'), t('field.status'), t('field.actions')], rows)
          : [empty('schedule.none'), h('p', {}, h('a', { href: '#/open-shifts' }, t('schedule.find_shifts')))]));
  },
};
