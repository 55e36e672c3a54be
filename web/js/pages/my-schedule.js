import { all, api, download } from '../api.js';
import { h } from '../dom.js';
import { formatTimeRange, t } from '../i18n.js';
import { actionButton, empty, inlineAlert, page, section, table } from '../page.js';
import { ASSIGNMENT_STATUS_KEYS } from './common.js';

export default {
  title: 'schedule.title',
  async render(ctx) {
    if (!ctx.me.person) return page('schedule.title', empty('schedule.no_profile'));
    // The events come as one list, not one request per shift: both lists keep the events
    // starting from the same instant that the caller may see, so every shift's event is in it.
    const from = new Date().toISOString();
    const [listed, upcoming, waitlist] = await Promise.all([
      all('/assignments', { person_id: ctx.me.person.id, from }),
      all('/events', { from }),
      all('/waitlist'),
    ]);
    const events = new Map(upcoming.map((event) => [event.id, event]));
    const assignments = listed.filter((assignment) => events.has(assignment.event_id));
    const waiting = waitlist.filter((entry) => events.has(entry.event_id));
    const alert = inlineAlert();
    const act = (path, flashKey, label, ariaLabel, className = 'secondary') => actionButton(label, {
      className,
      ariaLabel,
      alert,
      run: () => api.post(path),
      done: () => ctx.navigate('/my-schedule', { flash: flashKey }),
    });
    const rows = assignments.map((assignment) => {
      const event = events.get(assignment.event_id);
      const named = { title: event.title, role: assignment.role };
      // Each state offers what can be done with it: a pending place is answered (accept or
      // decline), an accepted one offered for a swap or withdrawn; a declined one is done.
      const actions = [];
      if (assignment.status === 'pending') {
        actions.push(
          act(`/assignments/${assignment.id}/accept`, 'schedule.accepted', t('schedule.accept'), t('schedule.accept_named', named), 'primary'),
          act(`/assignments/${assignment.id}/decline`, 'schedule.declined', t('schedule.decline'), t('schedule.decline_named', named)),
        );
      }
      if (assignment.status === 'confirmed') {
        actions.push(h('a', { className: 'button secondary-link', href: `#/swaps?assignment=${assignment.id}`, 'aria-label': t('swaps.offer_named', named) }, t('swaps.offer')));
      }
      if (assignment.status !== 'declined') {
        actions.push(actionButton(t('schedule.ics'), {
          ariaLabel: t('schedule.ics_named', named),
          alert,
          run: () => download(`/events/${event.id}/calendar.ics`, `event-${event.id}.ics`),
        }));
      }
      if (assignment.status === 'confirmed') {
        actions.push(actionButton(t('schedule.withdraw'), {
          ariaLabel: t('schedule.withdraw_named', named),
          confirm: t('schedule.confirm_withdraw', { title: event.title }),
          alert,
          run: () => api.del(`/assignments/${assignment.id}`),
          done: () => ctx.navigate('/my-schedule', { flash: 'schedule.withdrawn' }),
        }));
      }
      return [
        event.title,
        formatTimeRange(event.starts_at, event.ends_at),
        event.location,
        assignment.role,
        h('span', { 'data-status': assignment.status }, t(ASSIGNMENT_STATUS_KEYS[assignment.status])),
        h('div', { className: 'actions' }, actions),
      ];
    });
    const waitingRows = waiting.map((entry) => {
      const event = events.get(entry.event_id);
      const named = { title: event.title, role: entry.role };
      return [
        event.title,
        formatTimeRange(event.starts_at, event.ends_at),
        entry.role,
        h('span', { 'data-testid': 'waitlist-position' }, t('shifts.position', { position: entry.position })),
        h('div', { className: 'actions' }, actionButton(t('shifts.leave_waitlist'), {
          ariaLabel: t('shifts.leave_waitlist_named', named),
          alert,
          run: () => api.del(`/waitlist/${entry.id}`),
          done: () => ctx.navigate('/my-schedule', { flash: 'shifts.left_waitlist' }),
        })),
      ];
    });
    const pending = assignments.filter((a) => a.status === 'pending').length;
    return page('schedule.title',
      pending ? h('p', { className: 'notice' }, t('schedule.pending_count', { count: pending })) : null,
      alert,
      section(t('schedule.upcoming'),
        assignments.length
          ? table(t('schedule.table_caption'), [t('field.event'), t('field.when'), t('field.location'), t('field.role'), t('field.status'), t('field.actions')], rows)
          : [empty('schedule.none'), h('p', {}, h('a', { href: '#/open-shifts' }, t('schedule.find_shifts')))]),
      // The places they wait for, with their place in line (the waitlist promotes in order).
      waitingRows.length
        ? section(t('schedule.waiting'),
          table(t('schedule.waiting_caption'), [t('field.event'), t('field.when'), t('field.role'), t('schedule.in_line'), t('field.actions')], waitingRows))
        : null);
  },
};
