import { api, saveTokens } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton } from '../forms.js';
import { apiLocale, locale, setLocale, t } from '../i18n.js';
import { page } from '../page.js';

export default {
  title: 'accept.title',
  render(ctx) {
    const token = ctx.query.get('token') || '';
    if (!token) {
      return page('accept.title', h('p', { className: 'form-error', role: 'alert' }, t('accept.no_token')));
    }
    const form = h('form', { className: 'form narrow', 'aria-labelledby': 'page-title' },
      formAlert(),
      field({ name: 'password', label: t('field.password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('accept.password_hint') }),
      submitButton(t('accept.submit')));
    bindForm(form, async () => {
      saveTokens(await api.post('/invitations/accept', { token, password: form.elements.password.value }, { auth: false }));
      // They read the invitation in this language: keep it for their profile and this device.
      // Best effort: the invitation is used up now, so a failure here must not stop the login.
      const language = locale();
      await Promise.allSettled([
        setLocale(language, { remember: true }),
        api.patch('/me', { language: apiLocale(language) }),
      ]);
      await ctx.login('/availability');
    }, { messages: { 404: 'accept.invalid', '/problems/conflict': 'accept.used' } });
    return page('accept.title', h('p', {}, t('accept.intro')), form);
  },
};
