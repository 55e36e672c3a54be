import { api } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { t } from '../i18n.js';
import { page } from '../page.js';

export default {
  title: 'forgot.title',
  render() {
    const done = h('p', { className: 'success', role: 'status', hidden: true });
    const form = h('form', { className: 'form narrow', 'aria-labelledby': 'page-title' },
      formAlert(),
      field({ name: 'email', label: t('field.email'), type: 'email', required: true, autocomplete: 'email' }),
      submitButton(t('forgot.submit')));
    bindForm(form, async () => {
      await api.post('/auth/password-reset', { email: value(form, 'email') }, { auth: false });
      done.textContent = t('forgot.sent');
      done.hidden = false;
    }, { messages: { 404: 'reset.unavailable', 405: 'reset.unavailable' } });
    return page('forgot.title', h('p', {}, t('forgot.intro')), form, done,
      h('p', { className: 'links' }, h('a', { href: '#/login' }, t('forgot.back'))));
  },
};
