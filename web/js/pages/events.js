import { all, api } from '../api.js';
import { h } from '../dom.js';
import { problemMessage } from '../forms.js';
import { formatDateTime, t } from '../i18n.js';
import { empty, inlineAlert, linkButton, page, section, table } from '../page.js';
import { EVENT_STATUS_KEYS } from './common.js';

export default {
  title: 'events.title',
  async render(ctx) {
    const events = await all('/events');
    const alert = inlineAlert();
    // A recurring event is deleted alone, or with every later occurrence of its series.
    const remove = (event, scope, key, namedKey) => h('button', {
      type: 'button',
      className: 'danger',
      'aria-label': t(namedKey, { title: event.title }),
      onclick: async () => {
        const question = scope === 'following' ? 'events.confirm_delete_following' : 'events.confirm_delete';
        if (!window.confirm(t(question, { title: event.title }))) return;
        try {
          await api.del(`/events/${event.id}`, { scope });
          ctx.navigate('/events', { flash: 'events.deleted' });
        } catch (error) {
          alert.textContent = problemMessage(error);
          alert.hidden = false;
        }
      },
    }, t(key));
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
      section(t('events.all'),
        events.length
          ? table(t('events.table_caption'), [t('field.event'), t('field.starts'), t('field.status'), t('events.roles'), t('field.actions')], rows)
          : empty('events.none')));
  },
};
