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
