import { h, uid } from '../dom.js';
import { t } from '../i18n.js';

// Labels for the API's enumerations, as message keys (written out so the i18n test sees them).
export const EVENT_STATUS_KEYS = {
  draft: 'event_status.draft', published: 'event_status.published', cancelled: 'event_status.cancelled',
};
export const MEMBER_ROLE_KEYS = {
  admin: 'member_role.admin', scheduler: 'member_role.scheduler', volunteer: 'member_role.volunteer',
};
export const ASSIGNMENT_STATUS_KEYS = {
  pending: 'assignment_status.pending', confirmed: 'assignment_status.confirmed', declined: 'assignment_status.declined',
};
export const INVITATION_STATE_KEYS = {
  pending: 'invitation_state.pending', accepted: 'invitation_state.accepted',
  revoked: 'invitation_state.revoked', expired: 'invitation_state.expired',
};

export function parseRoles(text) {
  return text.split(',').map((role) => role.trim()).filter(Boolean);
}

// The team a list is narrowed to (`?team=<id>`), and the control that changes it: teams are
// how an organisation splits its people and events (a choir, a kitchen crew).
function teamId(ctx) {
  return Number(ctx.query.get('team')) || null;
}

// The list's query, read at the same time as the teams: a team of another organisation
// simply lists nothing.
export function teamQuery(ctx) {
  const id = teamId(ctx);
  return id ? { team_id: id } : {};
}

export function chosenTeam(ctx, teams) {
  const id = teamId(ctx);
  return teams.find((team) => team.id === id) || null;
}

export function teamFilter(ctx, teams, path, chosen) {
  if (!teams.length) return null;
  const id = uid('team-filter');
  const select = h('select', {
    id,
    name: 'team',
    onchange: () => ctx.navigate(select.value ? `${path}?team=${select.value}` : path),
  },
  h('option', { value: '' }, t('teams.all_teams')),
  teams.map((team) => h('option', { value: String(team.id), selected: chosen && chosen.id === team.id }, team.name)));
  return h('div', { className: 'field team-filter' }, h('label', { for: id }, t('teams.filter')), select);
}
