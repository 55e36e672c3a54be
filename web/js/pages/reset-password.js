import { api } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, showFieldError, submitButton } from '../forms.js';
import { t } from '../i18n.js';
import { page } from '../page.js';

export default {
  title: 'reset.title',
  render(ctx) {
    const token = ctx.query.get('token') || '';
    if (!token) {
      return page('reset.title', h('p', { className: 'form-error', role: 'alert' }, t('reset.no_token')),
        h('p', {}, h('a', { href: '#/forgot-password' }, t('forgot.title'))));
    }
    const done = h('p', { className: 'success', role: 'status', hidden: true },
      t('reset.done'), ' ', h('a', { href: '#/login' }, t('nav.login')));
    const form = h('form', { className: 'form narrow', 'aria-labelledby': 'page-title' },
      formAlert(),
      field({ name: 'password', label: t('reset.new_password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('field.password_hint') }),
      field({ name: 'confirm', label: t('reset.confirm_password'), type: 'password', required: true, autocomplete: 'new-password' }),
      submitButton(t('reset.submit')));
    bindForm(form, async () => {
      const password = form.elements.password.value;
      if (password !== form.elements.confirm.value) {
        showFieldError(form, 'confirm', t('reset.mismatch')).focus();
        return;
      }
      await api.post('/auth/password-reset/confirm', { token, password }, { auth: false });
      form.hidden = true;
      done.hidden = false;
    }, { messages: { 404: 'reset.unavailable', 405: 'reset.unavailable' } });
    return page('reset.title', form, done);
  },
};
