import { api, saveTokens } from '../api.js';
import { h } from '../dom.js';
import { bindForm, formAlert, submitButton } from '../forms.js';
import { t } from '../i18n.js';
import { page } from '../page.js';

// A button, not an automatic request: mail scanners that open links must not use them up.
export default {
  title: 'signup_confirm.title',
  render(ctx) {
    const token = ctx.query.get('token') || '';
    if (!token) {
      return page('signup_confirm.title', h('p', { className: 'form-error', role: 'alert' }, t('signup_confirm.no_token')));
    }
    const form = h('form', { className: 'form narrow', 'aria-labelledby': 'page-title' },
      formAlert(),
      submitButton(t('signup_confirm.submit')));
    bindForm(form, async () => {
      saveTokens(await api.post('/auth/signup/confirm', { token }, { auth: false }));
      await ctx.login('/dashboard');
    });
    return page('signup_confirm.title', h('p', {}, t('signup_confirm.intro')), form);
  },
};
