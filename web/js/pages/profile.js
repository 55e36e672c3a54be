import { api, saveTokens } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { apiLocale, languageOptions, locale, setLocale, t, uiLocale } from '../i18n.js';
import { page, section } from '../page.js';
import { MEMBER_ROLE_KEYS } from './common.js';

export default {
  title: 'profile.title',
  render(ctx) {
    const { me } = ctx;
    const parts = [h('dl', { className: 'facts' },
      h('div', {}, h('dt', {}, t('field.email')), h('dd', {}, me.email)),
      h('div', {}, h('dt', {}, t('profile.organisation')), h('dd', {}, me.organisation.name)),
      h('div', {}, h('dt', {}, t('field.member_role')), h('dd', {}, t(MEMBER_ROLE_KEYS[me.role]))),
      me.person ? h('div', {}, h('dt', {}, t('field.roles')), h('dd', {}, me.person.roles.join(', ') || t('profile.no_roles'))) : null)];
    if (me.person) {
      const form = h('form', { className: 'form narrow', 'aria-labelledby': 'profile-form-title' },
        h('h2', { id: 'profile-form-title' }, t('profile.details')),
        formAlert(),
        field({ name: 'name', label: t('field.name'), value: me.person.name, required: true, autocomplete: 'name' }),
        field({ name: 'language', label: t('field.language'), options: languageOptions(), value: uiLocale(me.person.language) || locale() }),
        submitButton(t('action.save')));
      bindForm(form, async () => {
        const chosen = value(form, 'language');
        await api.patch('/me', { name: value(form, 'name'), language: apiLocale(chosen) });
        await ctx.reloadMe();
        ctx.navigate('/profile', { flash: 'profile.saved' });
        if (chosen !== locale()) await setLocale(chosen, { remember: true });
      });
      parts.push(h('section', { className: 'card' }, form));
    }
    const passwordForm = h('form', { className: 'form narrow', 'aria-labelledby': 'password-form-title' },
      h('h2', { id: 'password-form-title' }, t('profile.change_password')),
      formAlert(),
      field({ name: 'current_password', label: t('profile.current_password'), type: 'password', required: true, autocomplete: 'current-password' }),
      field({ name: 'new_password', label: t('reset.new_password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('field.password_hint') }),
      submitButton(t('profile.change_password')));
    bindForm(passwordForm, async () => {
      saveTokens(await api.post('/auth/password', {
        current_password: passwordForm.elements.current_password.value,
        new_password: passwordForm.elements.new_password.value,
      }, { keepSession: true }));
      passwordForm.reset();
      ctx.flash('profile.password_changed');
    }, { messages: { '/problems/unauthenticated': 'profile.error.current_password' } });
    parts.push(section(t('profile.security'), passwordForm));
    return page('profile.title', parts);
  },
};
