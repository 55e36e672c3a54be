import { all, api } from '../api.js';
import { h, uid } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { t } from '../i18n.js';
import { actionButton, empty, page, section } from '../page.js';

function memberChoices(people, selected) {
  return h('fieldset', { className: 'checkboxes' }, h('legend', {}, t('teams.members')),
    people.length
      ? people.map((person) => {
        const id = uid('member');
        return h('div', { className: 'field-checkbox' },
          h('input', { type: 'checkbox', id, name: 'member_ids', value: String(person.id), checked: selected.includes(person.id) }),
          h('label', { for: id }, person.name));
      })
      : h('p', { className: 'empty' }, t('teams.no_people')));
}

function memberIds(form) {
  return [...form.querySelectorAll('input[name="member_ids"]:checked')].map((input) => Number(input.value));
}

function teamForm(ctx, people, team) {
  const titleId = uid('team');
  const alert = formAlert();
  const form = h('form', { className: 'form', 'aria-labelledby': titleId },
    h(team ? 'h3' : 'h2', { id: titleId }, team ? t('teams.edit_named', { name: team.name }) : t('teams.new')),
    alert,
    field({ name: 'name', label: t('field.name'), value: team ? team.name : '', required: true }),
    field({ name: 'description', label: t('field.description'), type: 'textarea', value: team ? team.description : '' }),
    memberChoices(people, team ? team.member_ids : []),
    h('div', { className: 'actions' },
      submitButton(team ? t('action.save') : t('teams.create')),
      team ? actionButton(t('action.delete'), {
        className: 'danger',
        confirm: t('teams.confirm_delete', { name: team.name }),
        alert,
        run: () => api.del(`/teams/${team.id}`),
        done: () => ctx.navigate('/teams', { flash: 'teams.deleted' }),
      }) : null));
  bindForm(form, async () => {
    const body = { name: value(form, 'name'), description: value(form, 'description'), member_ids: memberIds(form) };
    if (team) await api.patch(`/teams/${team.id}`, body);
    else await api.post('/teams', body);
    ctx.navigate('/teams', { flash: 'teams.saved' });
  });
  return team ? form : h('section', { className: 'card' }, form);
}

// A team as it is used: who is in it, and its events and people as filtered lists; its form
// opens on demand.
function teamCard(ctx, people, team) {
  const titleId = uid('team-card');
  const names = people.filter((person) => team.member_ids.includes(person.id)).map((person) => person.name);
  return h('article', { className: 'card team', 'aria-labelledby': titleId },
    h('h3', { id: titleId }, team.name),
    team.description ? h('p', { className: 'muted' }, team.description) : null,
    h('p', { 'data-testid': 'team-members' }, names.length ? t('teams.members_list', { names: names.join(', ') }) : t('teams.no_members')),
    h('p', { className: 'actions' },
      h('a', { className: 'button secondary-link', href: `#/events?team=${team.id}` }, t('teams.its_events')),
      h('a', { className: 'button secondary-link', href: `#/people?team=${team.id}` }, t('teams.its_people'))),
    h('details', {}, h('summary', {}, t('teams.edit')), teamForm(ctx, people, team)));
}

export default {
  title: 'teams.title',
  async render(ctx) {
    const [teams, people] = await Promise.all([all('/teams'), all('/people')]);
    return page('teams.title',
      h('p', {}, t('teams.intro')),
      section(t('teams.all'), teams.length ? teams.map((team) => teamCard(ctx, people, team)) : empty('teams.none')),
      teamForm(ctx, people, null));
  },
};
