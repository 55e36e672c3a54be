import { api, saveTokens } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { t } from '../i18n.js';
import { page } from '../page.js';

export default {
  title: 'login.title',
  render(ctx) {
    const form = h('form', { className: 'form narrow', 'aria-labelledby': 'page-title' },
      formAlert(),
      field({ name: 'email', label: t('field.email'), type: 'email', required: true, autocomplete: 'username' }),
      field({ name: 'password', label: t('field.password'), type: 'password', required: true, autocomplete: 'current-password' }),
      field({ name: 'organisation', label: t('login.organisation'), hint: t('login.organisation_hint'), autocomplete: 'organization' }),
      submitButton(t('login.submit')));
    // An accepted invitation's page links here with the address and organisation filled in.
    form.elements.email.value = ctx.query.get('email') || '';
    form.elements.organisation.value = ctx.query.get('organisation') || '';
    bindForm(form, async () => {
      const body = { email: value(form, 'email'), password: form.elements.password.value };
      const organisation = value(form, 'organisation');
      if (organisation) body.organisation = organisation;
      saveTokens(await api.post('/auth/login', body, { auth: false }));
      await ctx.login(ctx.query.get('next'));
    }, { messages: { '/problems/unauthenticated': 'login.error.credentials' } });
    return page('login.title', form,
      h('p', { className: 'links' },
        h('a', { href: '#/forgot-password' }, t('login.forgot')), ' · ',
        h('a', { href: '#/signup' }, t('login.no_account'))));
  },
};
