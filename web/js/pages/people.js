import { ApiError, all, api, download } from '../api.js';
import { clear, h, replace } from '../dom.js';
import { bindForm, field, formAlert, problemMessage, showFormError, submitButton, value } from '../forms.js';
import { formatDateTime, t } from '../i18n.js';
import { actionButton, empty, inlineAlert, page, roleList, section, table } from '../page.js';
import { INVITATION_STATE_KEYS, MEMBER_ROLE_KEYS, chosenTeam, parseRoles, teamFilter, teamQuery } from './common.js';

// The API's codes for a line of a rejected file (people/csv_io.py LINE_ERRORS).
const CSV_LINE_KEYS = {
  empty: 'csv.line.empty',
  unreadable: 'csv.line.unreadable',
  unknown_column: 'csv.line.unknown_column',
  missing_column: 'csv.line.missing_column',
  duplicate_column: 'csv.line.duplicate_column',
  too_many_rows: 'csv.line.too_many_rows',
  cell_count: 'csv.line.cell_count',
  duplicate_email: 'csv.line.duplicate_email',
  name: 'csv.line.name',
  one_line: 'csv.line.one_line',
  email: 'csv.line.email',
  role: 'csv.line.role',
  too_many_roles: 'csv.line.too_many_roles',
  language: 'csv.line.language',
  active: 'csv.line.active',
  member_role: 'csv.line.member_role',
  member_role_change: 'csv.line.member_role_change',
};

function roleOptions() {
  return Object.keys(MEMBER_ROLE_KEYS).map((role) => ({ value: role, label: t(MEMBER_ROLE_KEYS[role]) }));
}

export default {
  title: 'people.title',
  async render(ctx) {
    const peopleQuery = teamQuery(ctx);
    const [teams, people, invitations] = await Promise.all([all('/teams'), all('/people', peopleQuery), all('/invitations')]);
    const team = chosenTeam(ctx, teams);
    const alert = inlineAlert();
    const linkBox = h('div', { className: 'invite-link', hidden: true });
    const form = h('form', { className: 'form', 'aria-labelledby': 'invite-title' },
      h('h2', { id: 'invite-title' }, t('people.invite')),
      formAlert(),
      h('div', { className: 'row' },
        field({ name: 'name', label: t('field.name'), required: true, autocomplete: 'off' }),
        field({ name: 'email', label: t('field.email'), type: 'email', required: true, autocomplete: 'off' })),
      h('div', { className: 'row' },
        field({ name: 'role', label: t('field.member_role'), options: roleOptions(), value: 'volunteer' }),
        field({ name: 'roles', label: t('field.roles'), hint: t('field.roles_hint') })),
      submitButton(t('people.send_invite')));
    const lists = h('div', {});
    bindForm(form, async () => {
      // A new attempt: the previous invitation's link goes, so it never sits beside new errors.
      linkBox.hidden = true;
      clear(linkBox);
      const name = value(form, 'name');
      const email = value(form, 'email');
      const created = await api.post('/invitations', {
        name,
        email,
        role: value(form, 'role'),
        roles: parseRoles(value(form, 'roles')),
      });
      // The link is shown once (only its hash is stored); it opens on this same server. The
      // invitation e-mail carries the same link.
      const link = `${window.location.origin}/#/accept?token=${encodeURIComponent(created.token)}`;
      const inputId = 'invite-link-input';
      replace(linkBox,
        h('p', { role: 'status', 'data-testid': 'invited' }, t('people.invited', { name }), ' ', t('people.invite_mailed', { email })),
        h('label', { for: inputId }, t('people.invite_link')),
        h('input', { id: inputId, type: 'text', readonly: true, value: link, 'aria-describedby': 'invite-link-hint' }),
        h('p', { className: 'hint', id: 'invite-link-hint' }, t('people.invite_link_hint')));
      linkBox.hidden = false;
      form.reset();
      linkBox.querySelector('input').focus();
      linkBox.querySelector('input').select();
      // The lists follow at once: the new person and their pending invitation.
      const [nowPeople, nowInvitations] = await Promise.all([all('/people', peopleQuery), all('/invitations')]);
      replace(lists, peopleLists(ctx, alert, nowPeople, nowInvitations));
    });
    replace(lists, peopleLists(ctx, alert, people, invitations));
    return page('people.title',
      h('section', { className: 'card' }, form, linkBox),
      ctx.me.role === 'admin' ? csvCard(ctx) : null,
      alert,
      teamFilter(ctx, teams, '/people', team),
      lists);
  },
};

// Everyone, and the invitations still open.
function peopleLists(ctx, alert, people, invitations) {
  const rows = people.map((person) => [
    h('a', { href: `#/people/${person.id}` }, person.name),
    person.email,
    roleList(person.roles),
    t(person.has_login ? 'people.has_login' : 'people.no_login'),
    t(person.active ? 'people.active' : 'people.inactive'),
  ]);
  const pending = invitations.filter((invitation) => invitation.state === 'pending');
  const invitationRows = pending.map((invitation) => [
    invitation.email,
    t(MEMBER_ROLE_KEYS[invitation.role]),
    t(INVITATION_STATE_KEYS[invitation.state]),
    formatDateTime(invitation.expires_at),
    actionButton(t('people.revoke'), {
      className: 'danger',
      ariaLabel: t('people.revoke_named', { email: invitation.email }),
      alert,
      run: () => api.del(`/invitations/${invitation.id}`),
      done: () => ctx.navigate('/people', { flash: 'people.revoked' }),
    }),
  ]);
  return [
    section(t('people.everyone'),
      people.length
        ? table(t('people.table_caption'), [t('field.name'), t('field.email'), t('field.roles'), t('people.account'), t('field.active')], rows)
        : empty('people.none')),
    section(t('people.pending_invitations'),
      pending.length
        ? table(t('people.pending_invitations'), [t('field.email'), t('field.member_role'), t('field.status'), t('people.expires'), t('field.actions')], invitationRows)
        : empty('people.no_invitations')),
  ];
}

// CSV: a dry run checks the file and counts what would change; only then can it be imported.
// A rejected file lists every error by line and column; the chosen file stays selected.
function csvCard(ctx) {
  const outcome = h('div', { className: 'csv-outcome', 'aria-live': 'polite' });
  const importButton = h('button', { type: 'button', className: 'primary', disabled: true }, t('csv.import'));
  const form = h('form', { className: 'form', 'aria-labelledby': 'csv-title' },
    h('h2', { id: 'csv-title' }, t('csv.title')),
    h('p', { className: 'hint' }, t('csv.hint')),
    formAlert(),
    field({ name: 'file', label: t('csv.file'), type: 'file', attrs: { accept: '.csv,text/csv' } }),
    h('div', { className: 'actions' }, submitButton(t('csv.check')), importButton));
  const send = async (dryRun) => {
    const file = form.elements.file.files[0];
    if (!file) return null;
    return api.post('/people/import', await file.text(), { contentType: 'text/csv', query: { dry_run: dryRun } });
  };
  const counts = (result) => t(result.dry_run ? 'csv.would' : 'csv.done', { created: result.created, updated: result.updated, unchanged: result.unchanged });
  const showLines = (error) => {
    replace(outcome, h('ul', { className: 'csv-errors', 'data-testid': 'csv-errors' }, error.lines.map((line) => h('li', {},
      line.column ? t('csv.error_at', { line: line.line, column: line.column }) : t('csv.error_line', { line: line.line }),
      ' ', CSV_LINE_KEYS[line.code] ? t(CSV_LINE_KEYS[line.code], line.params) : h('span', { lang: 'en' }, line.message)))));
  };
  form.elements.file.addEventListener('change', () => {
    importButton.disabled = true;
    clear(outcome);
  });
  bindForm(form, async () => {
    importButton.disabled = true;
    clear(outcome);
    try {
      const result = await send(true);
      if (!result) {
        showFormError(form, t('csv.choose_file')).focus();
        return;
      }
      replace(outcome, h('p', { className: 'success', 'data-testid': 'csv-result' }, counts(result)));
      importButton.disabled = false;
    } catch (error) {
      if (error instanceof ApiError && error.lines.length) showLines(error);
      throw error;
    }
  }, { messages: { '/problems/invalid-csv': 'csv.invalid' } });
  importButton.addEventListener('click', async () => {
    importButton.disabled = true;
    try {
      await send(false);
      ctx.navigate('/people', { flash: 'csv.imported' });
    } catch (error) {
      showFormError(form, problemMessage(error, { '/problems/invalid-csv': 'csv.invalid' })).focus();
      if (error instanceof ApiError && error.lines.length) showLines(error);
    }
  });
  const exportButton = h('button', {
    type: 'button',
    className: 'secondary',
    onclick: async () => {
      try {
        await download('/people/export', 'people-export.csv');
      } catch (error) {
        showFormError(form, problemMessage(error)).focus();
      }
    },
  }, t('csv.export'));
  return h('section', { className: 'card' }, form, outcome, h('p', {}, exportButton));
}
