import { all } from '../api.js';
import { h } from '../dom.js';
import { formatDateTime, t } from '../i18n.js';
import { empty, linkButton, page, section, table } from '../page.js';
import { EVENT_STATUS_KEYS } from './common.js';

function coverage(event) {
  return h('ul', { className: 'coverage' }, event.slots.map((slot) => h('li', { className: slot.open ? 'unfilled' : 'filled' },
    t('dashboard.slot_coverage', { role: slot.role, filled: slot.filled, capacity: slot.capacity }))));
}

export default {
  title: 'dashboard.title',
  async render(ctx) {
    const events = (await all('/events', { from: new Date().toISOString() }))
      .filter((event) => event.status !== 'cancelled');
    const open = events.reduce((sum, event) => sum + event.slots.reduce((n, slot) => n + slot.open, 0), 0);
    const places = events.reduce((sum, event) => sum + event.slots.reduce((n, slot) => n + slot.capacity, 0), 0);
    const short = events.filter((event) => event.slots.some((slot) => slot.open > 0));
    const summary = h('dl', { className: 'stats' },
      h('div', {}, h('dt', {}, t('dashboard.upcoming')), h('dd', {}, String(events.length))),
      h('div', {}, h('dt', {}, t('dashboard.places')), h('dd', {}, String(places))),
      h('div', {}, h('dt', {}, t('dashboard.unfilled')), h('dd', { 'data-testid': 'unfilled-total' }, String(open))));
    const rows = events.map((event) => [
      h('a', { href: `#/events/${event.id}` }, event.title),
      formatDateTime(event.starts_at),
      t(EVENT_STATUS_KEYS[event.status]),
      coverage(event),
      String(event.slots.reduce((n, slot) => n + slot.open, 0)),
    ]);
    return page('dashboard.title',
      h('p', {}, t('dashboard.greeting', { name: ctx.me.person ? ctx.me.person.name : ctx.me.email, organisation: ctx.me.organisation.name })),
      summary,
      section(t('dashboard.upcoming_events'),
        events.length
          ? table(t('dashboard.table_caption'), [t('field.event'), t('field.starts'), t('field.status'), t('dashboard.coverage'), t('dashboard.open_places')], rows)
          : empty('dashboard.no_events'),
        linkButton('#/events/new', t('events.new'))),
      // With no events there is nothing to fill: no claim that every place is.
      events.length ? section(t('dashboard.needs_people'),
        short.length
          ? h('ul', {}, short.map((event) => h('li', {}, h('a', { href: `#/events/${event.id}` }, event.title), ' — ',
            event.slots.filter((slot) => slot.open).map((slot) => t('dashboard.open_role', { role: slot.role, open: slot.open })).join(', '))))
          : empty('dashboard.all_filled'),
        h('p', {}, linkButton('#/schedule', t('dashboard.fill_with_solver')))) : null);
  },
};
