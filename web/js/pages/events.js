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
    const rows = events.map((event) => [
      h('a', { href: `#/events/${event.id}` }, event.title),
      formatDateTime(event.starts_at),
      t(EVENT_STATUS_KEYS[event.status]),
      event.slots.map((slot) => t('dashboard.slot_coverage', { role: slot.role, filled: slot.filled, capacity: slot.capacity })).join(', '),
      h('button', {
        type: 'button',
        className: 'danger',
        'aria-label': t('events.delete_named', { title: event.title }),
        onclick: async () => {
          if (!window.confirm(t('events.confirm_delete', { title: event.title }))) return;
          try {
            await api.del(`/events/${event.id}`);
            ctx.navigate('/events', { flash: 'events.deleted' });
          } catch (error) {
            alert.textContent = problemMessage(error);
            alert.hidden = false;
          }
        },
      }, t('action.delete')),
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
