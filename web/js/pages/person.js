import { all, api } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { apiLocale, languageOptions, t, uiLocale } from '../i18n.js';
import { page, section } from '../page.js';
import { MEMBER_ROLE_KEYS, parseRoles } from './common.js';

export default {
  title: 'person.title',
  async render(ctx) {
    const [person, invitations] = await Promise.all([api.get(`/people/${ctx.params.id}`), all('/invitations')]);
    const invitation = invitations.find((item) => item.person_id === person.id);
    const form = h('form', { className: 'form', 'aria-labelledby': 'details-title' },
      h('h2', { id: 'details-title' }, t('person.details')),
      formAlert(),
      field({ name: 'name', label: t('field.name'), value: person.name, required: true }),
      field({ name: 'email', label: t('field.email'), type: 'email', value: person.email, required: true }),
      field({ name: 'roles', label: t('field.roles'), value: person.roles.join(', '), hint: t('field.roles_hint') }),
      field({ name: 'language', label: t('field.language'), options: languageOptions(), value: uiLocale(person.language) || 'en' }),
      field({ name: 'active', label: t('field.active'), type: 'checkbox', value: person.active }),
      submitButton(t('action.save')));
    bindForm(form, async () => {
      await api.patch(`/people/${person.id}`, {
        name: value(form, 'name'),
        email: value(form, 'email'),
        roles: parseRoles(value(form, 'roles')),
        language: apiLocale(value(form, 'language')),
        active: value(form, 'active'),
      });
      ctx.navigate('/people', { flash: 'person.saved' });
    });
    const roleForm = h('form', { className: 'form', 'aria-labelledby': 'member-role-title' },
      h('h2', { id: 'member-role-title' }, t('field.member_role')),
      h('p', { className: 'hint' }, t('person.member_role_hint')),
      formAlert(),
      field({
        name: 'role',
        label: t('field.member_role'),
        value: invitation ? invitation.role : '',
        options: [{ value: '', label: t('person.choose_role') },
          ...Object.keys(MEMBER_ROLE_KEYS).map((role) => ({ value: role, label: t(MEMBER_ROLE_KEYS[role]) }))],
      }),
      submitButton(t('person.set_role')));
    bindForm(roleForm, async () => {
      await api.put(`/people/${person.id}/member-role`, { role: value(roleForm, 'role') });
      ctx.flash('person.role_saved');
    });
    // An access level belongs to an account: until the invitation is accepted there is none.
    const roleCard = person.has_login
      ? roleForm
      : h('div', {}, h('h2', {}, t('field.member_role')), h('p', { className: 'hint' }, t('person.role_after_accept')));
    const parts = [h('section', { className: 'card' }, form), h('section', { className: 'card' }, roleCard)];
    if (ctx.me.role === 'admin') {
      const deleteForm = h('form', { className: 'form', 'aria-labelledby': 'delete-title' },
        h('h2', { id: 'delete-title' }, t('person.delete')),
        formAlert(),
        h('button', { type: 'submit', className: 'danger' }, t('person.delete_named', { name: person.name })));
      bindForm(deleteForm, async () => {
        if (!window.confirm(t('person.confirm_delete', { name: person.name }))) return;
        await api.del(`/people/${person.id}`);
        ctx.navigate('/people', { flash: 'person.deleted' });
      });
      parts.push(section(t('person.danger_zone'), deleteForm));
    }
    const view = page('person.title', h('p', { className: 'lead' }, person.name), parts);
    return view;
  },
};
