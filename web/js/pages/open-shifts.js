import { all, api } from '../api.js';
import { h, uid } from '../dom.js';
import { currentTimeZone, formatTimeRange, t } from '../i18n.js';
import { actionButton, empty, inlineAlert, page } from '../page.js';
import { dayIn } from '../zones.js';

function post(ctx, alert, path, body, flashKey) {
  return {
    alert,
    run: () => (body ? api.post(path, body) : api.del(path)),
    done: () => ctx.navigate('/open-shifts', { flash: flashKey }),
  };
}

// A full slot: join its waitlist (a role you hold), or see your place in line and leave it.
function waitlistAction(ctx, event, slot, { mine, waiting, alert }) {
  if (waiting) {
    return [
      h('span', { className: 'badge', 'data-testid': 'waitlist-position' }, t('shifts.position', { position: waiting.position })),
      actionButton(t('shifts.leave_waitlist'), {
        ariaLabel: t('shifts.leave_waitlist_named', { role: slot.role, title: event.title }),
        ...post(ctx, alert, `/waitlist/${waiting.id}`, null, 'shifts.left_waitlist'),
      }),
    ];
  }
  if (!mine) return h('span', { className: 'badge full' }, t('shifts.full'));
  return [
    h('span', { className: 'badge full' }, t('shifts.full')),
    actionButton(t('shifts.join_waitlist'), {
      ariaLabel: t('shifts.join_waitlist_named', { role: slot.role, title: event.title }),
      ...post(ctx, alert, `/events/${event.id}/waitlist`, { role: slot.role }, 'shifts.joined_waitlist'),
    }),
  ];
}

// Whether the volunteer's time off covers a local day of the event. Only a hint, so nobody is
// offered a shift they would be refused: the server's one eligibility check decides (and
// also refuses a shift outside their weekly availability).
function onTimeOff(event, timeOff) {
  const zone = currentTimeZone();
  const first = dayIn(event.starts_at, zone);
  const last = dayIn(new Date(Date.parse(event.ends_at) - 1).toISOString(), zone);
  return timeOff.some((leave) => leave.starts_on <= last && first <= leave.ends_on);
}

function slotLine(ctx, event, slot, { mine, joined, waiting, away, alert }) {
  const status = t('shifts.places_open', { open: slot.open, capacity: slot.capacity });
  let action;
  if (joined) action = joined === slot.role ? h('span', { className: 'badge good' }, t('shifts.you_are_in')) : h('span', { className: 'badge' }, t('shifts.already_serving'));
  else if (away && mine) action = h('span', { className: 'badge full', 'data-testid': 'away' }, t('shifts.away'));
  else if (!slot.open || waiting) action = waitlistAction(ctx, event, slot, { mine, waiting, alert });
  else if (!mine) action = h('span', { className: 'muted' }, t('shifts.not_your_role'));
  else {
    action = actionButton(t('shifts.sign_up_as', { role: slot.role }), {
      className: 'primary',
      ...post(ctx, alert, `/events/${event.id}/signups`, { role: slot.role }, 'shifts.signed_up'),
    });
  }
  return h('li', {}, h('span', { className: 'slot-role' }, slot.role), ' ', h('span', {}, status), ' ', action);
}

export default {
  title: 'shifts.title',
  async render(ctx) {
    if (!ctx.me.person) return page('shifts.title', empty('schedule.no_profile'));
    const [events, assignments, waitlist, availability] = await Promise.all([
      all('/events', { status: 'published', from: new Date().toISOString() }),
      all('/assignments', { person_id: ctx.me.person.id }),
      all('/waitlist'),
      api.get(`/people/${ctx.me.person.id}/availability`),
    ]);
    const joined = new Map(assignments.filter((a) => a.status !== 'declined').map((a) => [a.event_id, a.role]));
    const waiting = new Map(waitlist.map((entry) => [entry.slot_id, entry]));
    const roles = new Set(ctx.me.person.roles);
    const cards = events.map((event) => {
      const titleId = uid('shift');
      const alert = inlineAlert();
      const away = onTimeOff(event, availability.time_off);
      return h('article', { className: 'card shift', 'aria-labelledby': titleId },
        h('h2', { id: titleId }, event.title),
        h('p', { className: 'when' }, formatTimeRange(event.starts_at, event.ends_at)),
        event.location ? h('p', {}, event.location) : null,
        event.description ? h('p', { className: 'muted' }, event.description) : null,
        alert,
        h('ul', { className: 'slots-list' }, event.slots.map((slot) => slotLine(ctx, event, slot, {
          mine: roles.has(slot.role), joined: joined.get(event.id), waiting: waiting.get(slot.id), away, alert,
        }))));
    });
    return page('shifts.title',
      h('p', {}, roles.size ? t('shifts.your_roles', { roles: [...roles].join(', ') }) : t('shifts.no_roles')),
      cards.length ? cards : empty('shifts.none'));
  },
};
