import { all, api } from '../api.js';
import { h } from '../dom.js';
import { formatDateTime, t } from '../i18n.js';
import { actionButton, empty, inlineAlert, linkButton, page, section, table } from '../page.js';
import { EVENT_STATUS_KEYS, chosenTeam, teamFilter, teamQuery } from './common.js';

export default {
  title: 'events.title',
  async render(ctx) {
    const [teams, events] = await Promise.all([all('/teams'), all('/events', teamQuery(ctx))]);
    const team = chosenTeam(ctx, teams);
    const alert = inlineAlert();
    // A recurring event is deleted alone, or with every later occurrence of its series.
    const remove = (event, scope, key, namedKey) => actionButton(t(key), {
      className: 'danger',
      ariaLabel: t(namedKey, { title: event.title }),
      confirm: t(scope === 'following' ? 'events.confirm_delete_following' : 'events.confirm_delete', { title: event.title }),
      alert,
      run: () => api.del(`/events/${event.id}`, { scope }),
      done: () => ctx.navigate('/events', { flash: 'events.deleted' }),
    });
    const rows = events.map((event) => [
      h('a', { href: `#/events/${event.id}` }, event.title),
      formatDateTime(event.starts_at),
      t(EVENT_STATUS_KEYS[event.status]),
      event.slots.map((slot) => t('dashboard.slot_coverage', { role: slot.role, filled: slot.filled, capacity: slot.capacity })).join(', '),
      h('div', { className: 'actions' },
        remove(event, 'this', event.series_id ? 'events.delete_this' : 'action.delete', event.series_id ? 'events.delete_this_named' : 'events.delete_named'),
        event.series_id ? remove(event, 'following', 'events.delete_following', 'events.delete_following_named') : null),
    ]);
    return page('events.title',
      h('p', {}, linkButton('#/events/new', t('events.new'))),
      alert,
      teamFilter(ctx, teams, '/events', team),
      section(t('events.all'),
        events.length
          ? table(t('events.table_caption'), [t('field.event'), t('field.starts'), t('field.status'), t('events.roles'), t('field.actions')], rows)
          : empty('events.none')));
  },
};
