// Admin schedule: run the solver for a date range (answered at once, or queued and polled),
// review a draft by event with its unfilled places and fairness, edit it by hand, compare
// two drafts, publish, unpublish and roll back.
import { all, api } from '../api.js';
import { h, replace, uid } from '../dom.js';
import { bindForm, field, formAlert, problemMessage, showFormError, submitButton, value } from '../forms.js';
import { currentTimeZone, formatDateTime, formatDayRange, formatTimeRange, t } from '../i18n.js';
import { actionButton, empty, inlineAlert, page, section, table } from '../page.js';
import { dayIn, todayIn, wallTimeToIso } from '../zones.js';

// `running` (a worker has claimed the run) reads as "in progress", like `queued`.
const SCHEDULE_STATUS_KEYS = {
  queued: 'schedule_status.queued', running: 'schedule_status.queued', failed: 'schedule_status.failed', draft: 'schedule_status.draft',
  published: 'schedule_status.published', superseded: 'schedule_status.superseded', unpublished: 'schedule_status.unpublished',
};
const REASON_KEYS = {
  no_qualified_person: 'plan.reason.no_qualified_person',
  everyone_unavailable: 'plan.reason.everyone_unavailable',
  everyone_busy_or_at_limit: 'plan.reason.everyone_busy_or_at_limit',
};
const RULE_KEYS = {
  unknown: 'rule.unknown', duplicate: 'rule.duplicate', role: 'rule.role', excluded: 'rule.excluded',
  availability: 'rule.availability', time_off: 'rule.time_off', capacity: 'rule.capacity',
  one_role_per_event: 'rule.one_role_per_event', overlap: 'rule.overlap', min_rest: 'rule.min_rest',
  weekly_limit: 'rule.weekly_limit', monthly_limit: 'rule.monthly_limit',
};
const SOURCE_KEYS = { solver: 'plan.source.solver', kept: 'plan.source.kept', edit: 'plan.source.edit' };
const POLL_MS = 1000;
const POLL_LIMIT = 300;

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function nextDay(day) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return isoDay(date);
}

// A draft made in the background worker is "queued", then "running" once a worker claims it,
// until it is ready ("draft") or "failed". Polling stops once `element` has left the page (the
// user went elsewhere); it is looked at after each wait, so it may be attached after the call.
const IN_PROGRESS = ['queued', 'running'];

async function untilReady(schedule, element, onWait) {
  let current = schedule;
  for (let i = 0; IN_PROGRESS.includes(current.status) && i < POLL_LIMIT; i += 1) {
    onWait();
    await new Promise((resolve) => { window.setTimeout(resolve, POLL_MS); });
    if (!element.isConnected) break;
    current = await api.get(`/schedules/${current.id}`);
  }
  return current;
}

function ruleMessage(error) {
  return error.rule && RULE_KEYS[error.rule] ? t(RULE_KEYS[error.rule]) : problemMessage(error);
}

function percent(fraction) {
  return new Intl.NumberFormat(document.documentElement.lang, { style: 'percent', maximumFractionDigits: 0 }).format(fraction || 0);
}

function number(value) {
  return new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: 2 }).format(value || 0);
}

// Its days start as those of the schedule on screen (the last run's), not today's again.
function runForm(ctx, shown) {
  const zone = currentTimeZone();
  const first = shown ? dayIn(shown.starts_at, zone) : todayIn(zone);
  const last = shown ? dayIn(shown.ends_at, zone, -1) : todayIn(zone, 27);
  const progress = h('p', { className: 'hint', role: 'status' });
  const form = h('form', { className: 'form', 'aria-labelledby': 'run-title' },
    h('h2', { id: 'run-title' }, t('plan.run')),
    h('p', { className: 'hint' }, t('plan.run_hint', { zone })),
    formAlert(),
    h('div', { className: 'row' },
      field({ name: 'starts_on', label: t('plan.first_day'), type: 'date', value: first, required: true }),
      field({ name: 'ends_on', label: t('plan.last_day'), type: 'date', value: last, required: true })),
    submitButton(t('plan.run_submit')),
    progress);
  bindForm(form, async () => {
    const firstDay = value(form, 'starts_on');
    const lastDay = value(form, 'ends_on');
    const created = await api.post('/schedules/solve', {
      starts_at: firstDay ? wallTimeToIso(`${firstDay}T00:00`, zone) : null,
      ends_at: lastDay ? wallTimeToIso(`${nextDay(lastDay)}T00:00`, zone) : null,
    });
    const ready = await untilReady(created, form, () => { progress.textContent = t('plan.queued'); });
    if (!form.isConnected) return;
    progress.textContent = '';
    if (IN_PROGRESS.includes(ready.status) || ready.status === 'failed') {
      showFormError(form, t(ready.status === 'failed' ? 'plan.failed' : 'plan.still_queued')).focus();
      return;
    }
    ctx.navigate(`/schedule?id=${ready.id}`, { flash: 'plan.ready' });
  }, {
    fieldFor: (error) => (error.status === 422 && !error.fieldErrors.some((e) => e.field) ? { field: 'ends_on', key: 'plan.error.range' } : null),
  });
  return h('section', { className: 'card' }, form);
}

function summary(report) {
  const fairness = report.fairness || {};
  return h('div', {},
    h('dl', { className: 'stats', 'data-testid': 'plan-stats' },
      h('div', {}, h('dt', {}, t('plan.coverage')), h('dd', {}, percent(report.coverage))),
      h('div', {}, h('dt', {}, t('plan.filled')), h('dd', {}, t('plan.filled_of', { filled: report.filled ?? 0, seats: report.seats ?? 0 }))),
      h('div', {}, h('dt', {}, t('plan.unfilled')), h('dd', {}, String((report.unfilled || []).reduce((n, u) => n + u.seats, 0))))),
    // Kept places whose person is away now (time off added since): the names are marked.
    report.violations && report.violations.length
      ? h('p', { className: 'warning', role: 'status', 'data-testid': 'plan-violations' }, t('plan.violations', { count: report.violations.length }))
      : null,
    h('h3', {}, t('plan.fairness')),
    h('p', { className: 'hint' }, t('plan.fairness_hint')),
    h('dl', { className: 'facts', 'data-testid': 'fairness' },
      h('div', {}, h('dt', {}, t('plan.fair_people')), h('dd', {}, String(fairness.people ?? 0))),
      h('div', {}, h('dt', {}, t('plan.fair_range')), h('dd', {}, t('plan.fair_range_value', { min: fairness.min ?? 0, max: fairness.max ?? 0 }))),
      h('div', {}, h('dt', {}, t('plan.fair_mean')), h('dd', {}, number(fairness.mean))),
      h('div', {}, h('dt', {}, t('plan.fair_spread')), h('dd', {}, String(fairness.spread ?? 0)))));
}

function addForm(ctx, schedule, slot, people) {
  const titleId = uid('add');
  const holders = people.filter((person) => person.active && person.roles.includes(slot.role));
  const others = people.filter((person) => person.active && !person.roles.includes(slot.role));
  const form = h('form', { className: 'form add-entry', 'aria-labelledby': titleId },
    h('h4', { id: titleId, className: 'visually-hidden' }, t('plan.add_to', { role: slot.role })),
    formAlert(),
    h('div', { className: 'row' },
      field({
        name: 'person_id',
        label: t('plan.add_person', { role: slot.role }),
        options: [{ value: '', label: t('plan.choose_person') },
          ...holders.map((person) => ({ value: person.id, label: person.name })),
          ...others.map((person) => ({ value: person.id, label: t('plan.without_role', { name: person.name }) }))],
      }),
      h('div', { className: 'actions' }, submitButton(t('plan.add')))));
  bindForm(form, async () => {
    const chosen = value(form, 'person_id');
    if (!chosen) {
      showFormError(form, t('plan.choose_person')).focus();
      return;
    }
    try {
      await api.post(`/schedules/${schedule.id}/entries`, { person_id: Number(chosen), slot_id: slot.id });
    } catch (error) {
      if (error.rule) {
        showFormError(form, t('plan.rule_broken', { rule: ruleMessage(error) })).focus();
        return;
      }
      throw error;
    }
    ctx.navigate(`/schedule?id=${schedule.id}`, { flash: 'plan.entry_added' });
  });
  return form;
}

function eventCard(ctx, schedule, event, { entries, unfilled, violations, names, people, alert }) {
  const titleId = uid('plan-event');
  const editable = schedule.status === 'draft';
  return h('article', { className: 'card plan-event', 'aria-labelledby': titleId },
    h('h3', { id: titleId }, event.title),
    h('p', { className: 'when' }, formatTimeRange(event.starts_at, event.ends_at)),
    h('ul', { className: 'slots-list' }, event.slots.map((slot) => {
      const placed = entries.filter((entry) => entry.slot_id === slot.id);
      const missing = unfilled.filter((item) => item.slot_id === slot.id);
      return h('li', { className: 'plan-slot', 'data-slot': String(slot.id) },
        h('span', { className: 'slot-role' }, t('plan.slot_line', { role: slot.role, capacity: slot.capacity })),
        h('ul', { className: 'chips entries' }, placed.map((entry) => {
          const name = names.get(entry.person_id) || String(entry.person_id);
          const broken = violations.find((v) => v.slot_id === slot.id && v.person_id === entry.person_id);
          return h('li', {}, name, entry.source !== 'solver' ? ` · ${t(SOURCE_KEYS[entry.source])}` : '',
            broken ? h('span', { className: 'badge full', 'data-testid': 'broken-rule' }, t(RULE_KEYS[broken.rule] || 'rule.unknown')) : null,
            editable ? actionButton(t('action.remove'), {
              className: 'link-button',
              ariaLabel: t('plan.remove_named', { name, role: slot.role }),
              alert,
              run: () => api.del(`/schedules/${schedule.id}/entries/${entry.id}`),
              done: () => ctx.navigate(`/schedule?id=${schedule.id}`, { flash: 'plan.entry_removed' }),
            }) : null);
        })),
        missing.map((item) => h('p', { className: 'unfilled-reason' },
          t('plan.unfilled_line', { seats: item.seats, reason: t(REASON_KEYS[item.reason] || 'plan.reason.other') }))),
        editable ? addForm(ctx, schedule, slot, people) : null);
    })));
}

function compareForm(others) {
  const result = h('div', { className: 'comparison', 'aria-live': 'polite' });
  const form = h('form', { className: 'form', 'aria-labelledby': 'compare-title' },
    h('h2', { id: 'compare-title' }, t('plan.compare')),
    formAlert(),
    h('div', { className: 'row' },
      field({
        name: 'against',
        label: t('plan.compare_with'),
        options: [{ value: '', label: t('plan.compare_published') },
          ...others.map((other) => ({ value: other.id, label: t('plan.schedule_name', { id: other.id, status: t(SCHEDULE_STATUS_KEYS[other.status]) }) }))],
      })),
    submitButton(t('plan.compare_submit')));
  return { form, result };
}

// A run still in the worker (the page was opened or reloaded meanwhile): say so, and show the
// schedule once it is ready.
function inProgress(ctx, schedule) {
  const titleId = uid('review');
  const section = h('section', { className: 'card review', 'aria-labelledby': titleId, 'data-schedule': String(schedule.id), 'data-status': schedule.status },
    h('h2', { id: titleId }, t('plan.review_title', { id: schedule.id, status: t(SCHEDULE_STATUS_KEYS[schedule.status]) })),
    h('p', { className: 'hint', role: 'status' }, t('plan.queued')));
  const status = section.querySelector('[role="status"]');
  untilReady(schedule, section, () => {}).then((ready) => {
    if (!section.isConnected) return;
    if (IN_PROGRESS.includes(ready.status)) status.textContent = t('plan.still_queued');
    else ctx.navigate(`/schedule?id=${ready.id}`);
  }, () => { status.textContent = t('plan.still_queued'); });  // a reload looks again
  return section;
}

async function review(ctx, schedule, schedules, people) {
  if (IN_PROGRESS.includes(schedule.status)) return inProgress(ctx, schedule);
  const names = new Map(people.map((person) => [person.id, person.name]));
  const events = await all('/events', { from: schedule.starts_at, to: schedule.ends_at });
  const alert = inlineAlert();
  const report = schedule.report || {};
  const unfilled = report.unfilled || [];
  const byEvent = events.filter((event) => event.slots.length).map((event) => eventCard(ctx, schedule, event, {
    entries: schedule.entries.filter((entry) => entry.event_id === event.id), unfilled, violations: report.violations || [], names, people, alert,
  }));
  const actions = h('div', { className: 'actions', 'data-testid': 'plan-actions' });
  const act = (key, path, { confirmKey, flashKey, danger } = {}) => actionButton(t(key), {
    className: danger ? 'danger' : 'primary',
    confirm: t(confirmKey),
    alert,
    messages: { '/problems/publish-conflict': 'plan.error.publish_conflict' },
    run: () => api.post(path),
    done: (outcome) => ctx.navigate(`/schedule?id=${outcome.schedule.id}`, { flash: flashKey }),
  });
  if (schedule.status === 'draft') {
    actions.appendChild(act('plan.publish', `/schedules/${schedule.id}/publish`, { confirmKey: 'plan.confirm_publish', flashKey: 'plan.published' }));
  }
  if (schedule.status === 'published') {
    actions.appendChild(act('plan.unpublish', `/schedules/${schedule.id}/unpublish`, { confirmKey: 'plan.confirm_unpublish', flashKey: 'plan.unpublished', danger: true }));
  }
  if (schedule.published_at && ['superseded', 'unpublished'].includes(schedule.status)) {
    actions.appendChild(act('plan.rollback', `/schedules/${schedule.id}/rollback`, { confirmKey: 'plan.confirm_rollback', flashKey: 'plan.rolled_back' }));
  }
  const { form, result } = compareForm(schedules.filter((other) => other.id !== schedule.id && !IN_PROGRESS.includes(other.status) && other.status !== 'failed'));
  bindForm(form, async () => {
    const against = value(form, 'against');
    const diff = await api.get(`/schedules/${schedule.id}/compare`, { against });
    const line = (entry) => {
      const event = events.find((e) => e.id === entry.event_id);
      return t('plan.diff_line', {
        name: names.get(entry.person_id) || String(entry.person_id),
        role: entry.role,
        event: event ? event.title : String(entry.event_id),
        when: event ? formatDateTime(event.starts_at) : '–',
      });
    };
    replace(result,
      h('p', { 'data-testid': 'compare-summary' }, t('plan.diff_summary', { added: diff.added.length, removed: diff.removed.length, unchanged: diff.unchanged.length })),
      diff.added.length ? h('div', {}, h('h3', {}, t('plan.diff_added')), h('ul', {}, diff.added.map((entry) => h('li', {}, line(entry))))) : null,
      diff.removed.length ? h('div', {}, h('h3', {}, t('plan.diff_removed')), h('ul', {}, diff.removed.map((entry) => h('li', {}, line(entry))))) : null);
  });
  const titleId = uid('review');
  return h('section', { className: 'card review', 'aria-labelledby': titleId, 'data-schedule': String(schedule.id), 'data-status': schedule.status },
    h('h2', { id: titleId }, t('plan.review_title', { id: schedule.id, status: t(SCHEDULE_STATUS_KEYS[schedule.status] || 'schedule_status.draft') })),
    h('p', { 'data-testid': 'plan-range' }, t('plan.range', { days: formatDayRange(schedule.starts_at, schedule.ends_at) })),
    alert,
    actions,
    schedule.status === 'failed' ? h('p', { className: 'form-error' }, t('plan.failed')) : summary(report),
    h('h3', {}, t('plan.by_event')),
    byEvent.length ? byEvent : empty('plan.no_events'),
    h('div', { className: 'card' }, form, result));
}

export default {
  title: 'plan.title',
  async render(ctx) {
    const [schedules, people] = await Promise.all([all('/schedules'), all('/people')]);
    const wanted = Number(ctx.query.get('id'));
    const chosen = wanted ? await api.get(`/schedules/${wanted}`)
      : (schedules[0] ? await api.get(`/schedules/${schedules[0].id}`) : null);
    const rows = schedules.map((item) => [
      h('a', { href: `#/schedule?id=${item.id}`, 'aria-current': chosen && chosen.id === item.id ? 'true' : null }, t('plan.schedule_name', { id: item.id, status: t(SCHEDULE_STATUS_KEYS[item.status] || 'schedule_status.draft') })),
      formatDayRange(item.starts_at, item.ends_at),
      item.report && item.report.coverage !== undefined ? percent(item.report.coverage) : '–',
      formatDateTime(item.created_at),
    ]);
    return page('plan.title',
      h('p', {}, t('plan.intro')),
      runForm(ctx, chosen),
      chosen ? await review(ctx, chosen, schedules, people) : null,
      section(t('plan.all'),
        schedules.length
          ? table(t('plan.all'), [t('plan.schedule'), t('field.when'), t('plan.coverage'), t('plan.created')], rows)
          : empty('plan.none')));
  },
};
