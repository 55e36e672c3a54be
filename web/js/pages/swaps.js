// Swaps: offer one of my shifts, take a colleague's offer, withdraw mine; admins decide on
// taken offers when the organisation wants to approve them.
import { all, api } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, showFieldError, submitButton, value } from '../forms.js';
import { formatTimeRange, t } from '../i18n.js';
import { actionButton, empty, inlineAlert, page, section, table } from '../page.js';

const SWAP_STATE_KEYS = {
  open: 'swap_state.open', awaiting_approval: 'swap_state.awaiting_approval', completed: 'swap_state.completed',
  rejected: 'swap_state.rejected', cancelled: 'swap_state.cancelled',
};
const SWAP_PROBLEMS = {
  '/problems/swap-already-offered': 'swaps.error.already_offered',
  '/problems/not-qualified': 'swaps.error.not_qualified',
  '/problems/schedule-clash': 'swaps.error.clash',
  '/problems/event-closed': 'swaps.error.closed',
  '/problems/swap-not-open': 'swaps.error.not_open',
};

export default {
  title: 'swaps.title',
  async render(ctx) {
    if (!ctx.me.person) return page('swaps.title', empty('schedule.no_profile'));
    const me = ctx.me.person.id;
    const admin = ctx.me.role === 'admin';
    // The events come as one list, not one request per offer. Your own offer of an event
    // taken back to draft is listed, the event is hidden from you: it is not in the list.
    const [mine, takeable, visible, awaiting, listed] = await Promise.all([
      all('/assignments', { person_id: me, from: new Date().toISOString() }),
      all('/swaps', { takeable: true }),
      all('/swaps'),
      admin ? all('/swaps', { state: 'awaiting_approval' }) : [],
      all('/events'),
    ]);
    const events = new Map(listed.map((event) => [event.id, event]));
    // Once an event has started only an organiser may change what belongs to it.
    const started = (event) => Boolean(event) && new Date(event.starts_at) <= new Date();
    const people = ctx.me.role === 'volunteer' ? [] : await all('/people');
    const names = new Map(people.map((person) => [person.id, person.name]));
    names.set(me, ctx.me.person.name);
    const who = (id) => (id === null || id === undefined ? '' : names.get(id) || t('swaps.colleague'));
    const alert = inlineAlert();
    const describe = (swap) => {
      const event = events.get(swap.event_id);
      return { title: event ? event.title : String(swap.event_id), role: swap.role, when: event ? formatTimeRange(event.starts_at, event.ends_at) : '' };
    };
    // Offer one of my shifts.
    const offered = new Set(visible.filter((s) => s.offered_by_person_id === me && ['open', 'awaiting_approval'].includes(s.state)).map((s) => s.assignment_id));
    const offerable = mine.filter((a) => a.status !== 'declined' && !offered.has(a.id));
    const form = h('form', { className: 'form', 'aria-labelledby': 'offer-title' },
      h('h2', { id: 'offer-title' }, t('swaps.offer_title')),
      h('p', { className: 'hint' }, t('swaps.offer_hint')),
      formAlert(),
      field({
        name: 'assignment_id',
        label: t('swaps.shift'),
        value: ctx.query.get('assignment') || '',
        options: [{ value: '', label: t('swaps.choose_shift') }, ...offerable.map((a) => {
          const event = events.get(a.event_id);
          return { value: a.id, label: t('swaps.shift_option', { title: event.title, role: a.role, when: formatTimeRange(event.starts_at, event.ends_at) }) };
        })],
      }),
      field({ name: 'note', label: t('swaps.note'), type: 'textarea' }),
      submitButton(t('swaps.offer_submit')));
    bindForm(form, async () => {
      const chosen = value(form, 'assignment_id');
      if (!chosen) {
        showFieldError(form, 'assignment_id', t('swaps.choose_shift')).focus();
        return;
      }
      await api.post(`/assignments/${chosen}/swap-offers`, { note: value(form, 'note') });
      ctx.navigate('/swaps', { flash: 'swaps.offered' });
    }, { messages: SWAP_PROBLEMS });

    const takeRows = takeable.map((swap) => {
      const d = describe(swap);
      return [d.title, d.when, swap.role, swap.note, actionButton(t('swaps.take'), {
        className: 'primary',
        ariaLabel: t('swaps.take_named', d),
        alert,
        messages: SWAP_PROBLEMS,
        run: () => api.post(`/swaps/${swap.id}/take`, {}),
        done: (taken) => ctx.navigate('/swaps', { flash: taken.state === 'awaiting_approval' ? 'swaps.taken_awaiting' : 'swaps.taken' }),
      })];
    });
    const myOffers = visible.filter((s) => s.offered_by_person_id === me || s.taken_by_person_id === me);
    const myRows = myOffers.map((swap) => {
      const d = describe(swap);
      const pending = swap.offered_by_person_id === me && ['open', 'awaiting_approval'].includes(swap.state);
      const frozen = pending && ctx.me.role === 'volunteer' && started(events.get(swap.event_id));
      const cancellable = pending && !frozen;
      return [d.title, d.when, swap.role,
        h('span', { 'data-state': swap.state }, t(SWAP_STATE_KEYS[swap.state])),
        swap.taken_by_person_id === me ? t('swaps.you_took') : t('swaps.you_offered'),
        cancellable ? actionButton(t('swaps.cancel'), {
          ariaLabel: t('swaps.cancel_named', d),
          alert,
          messages: SWAP_PROBLEMS,
          run: () => api.post(`/swaps/${swap.id}/cancel`),
          done: () => ctx.navigate('/swaps', { flash: 'swaps.cancelled' }),
        }) : (frozen ? h('span', { className: 'hint' }, t('problem.event.started')) : '')];
    });
    const parts = [
      h('p', {}, t(ctx.me.organisation.swaps_need_approval ? 'swaps.intro_approval' : 'swaps.intro')),
      alert,
      h('section', { className: 'card' }, form),
      section(t('swaps.takeable'),
        takeRows.length
          ? table(t('swaps.takeable'), [t('field.event'), t('field.when'), t('field.role'), t('swaps.note'), t('field.actions')], takeRows)
          : empty('swaps.none_takeable')),
      section(t('swaps.mine'),
        myRows.length
          ? table(t('swaps.mine'), [t('field.event'), t('field.when'), t('field.role'), t('field.status'), t('swaps.side'), t('field.actions')], myRows)
          : empty('swaps.none_mine')),
    ];
    if (admin) {
      const decide = (swap, action, key, flashKey, className) => actionButton(t(key), {
        className,
        ariaLabel: t(action === 'approve' ? 'swaps.approve_named' : 'swaps.reject_named', describe(swap)),
        alert,
        messages: SWAP_PROBLEMS,
        run: () => api.post(`/swaps/${swap.id}/${action}`),
        done: () => ctx.navigate('/swaps', { flash: flashKey }),
      });
      const rows = awaiting.map((swap) => {
        const d = describe(swap);
        return [d.title, d.when, swap.role, who(swap.offered_by_person_id), who(swap.taken_by_person_id),
          h('div', { className: 'actions' },
            decide(swap, 'approve', 'swaps.approve', 'swaps.approved', 'primary'),
            decide(swap, 'reject', 'swaps.reject', 'swaps.rejected', 'danger'))];
      });
      parts.push(section(t('swaps.awaiting'),
        h('p', { className: 'hint' }, t(ctx.me.organisation.swaps_need_approval ? 'swaps.approval_on' : 'swaps.approval_off')),
        rows.length
          ? table(t('swaps.awaiting'), [t('field.event'), t('field.when'), t('field.role'), t('swaps.offered_by'), t('swaps.taken_by'), t('field.actions')], rows)
          : empty('swaps.none_awaiting')));
    }
    return page('swaps.title', parts);
  },
};
