import { api, saveTokens } from '../api.js';
import { clear, h, replace } from '../dom.js';
import { bindForm, field, formAlert, problemMessage, submitButton, value } from '../forms.js';
import { apiLocale, languageOptions, locale, setLocale, t, uiLocale } from '../i18n.js';
import { inlineAlert, page, section, showAlert } from '../page.js';
import { MEMBER_ROLE_KEYS } from './common.js';

export default {
  title: 'profile.title',
  async render(ctx) {
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
        // setLocale re-renders the page, so it comes before the navigation that shows the flash.
        if (chosen !== locale()) await setLocale(chosen, { remember: true });
        ctx.navigate('/profile', { flash: 'profile.saved' });
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
    parts.push(await calendarCard());
    return page('profile.title', parts);
  },
};

// The personal calendar feed: its URL is shown whenever the page opens, replaced (rotate)
// on demand, and stops working when revoked.
async function calendarCard() {
  const alert = inlineAlert();
  const box = h('div', { className: 'invite-link', hidden: true });
  const show = (feed, { focus = true } = {}) => {
    const inputId = 'calendar-link-input';
    replace(box,
      h('label', { for: inputId }, t('calendar.link')),
      h('input', { id: inputId, type: 'text', readonly: true, value: feed.https_url, 'aria-describedby': 'calendar-link-hint' }),
      h('p', { className: 'hint', id: 'calendar-link-hint' }, t('calendar.link_hint')),
      h('div', { className: 'actions' },
        h('button', {
          type: 'button',
          className: 'secondary',
          onclick: async () => {
            const input = box.querySelector('input');
            input.select();
            try {
              await navigator.clipboard.writeText(input.value);
              showAlert(status, t('calendar.copied'));
            } catch {
              showAlert(status, t('calendar.copy_manually'));
            }
          },
        }, t('calendar.copy')),
        h('a', { className: 'button', href: feed.webcal_url, 'data-testid': 'webcal-link' }, t('calendar.subscribe'))));
    box.hidden = false;
    if (focus) box.querySelector('input').focus();
  };
  const status = h('p', { className: 'success', role: 'status', hidden: true });
  const call = (method, then) => async () => {
    alert.hidden = true;
    try {
      then(method === 'put' ? await api.put('/calendar/feeds/me') : await api.del('/calendar/feeds/me'));
    } catch (error) {
      showAlert(alert, problemMessage(error));
    }
  };
  try {
    show(await api.get('/calendar/feeds/me'), { focus: false });
  } catch (error) {
    // No link yet is the usual case; an old link that cannot be shown again says so.
    if (error.status !== 404) throw error;
    if (error.code === 'calendar.feed_hidden') showAlert(alert, problemMessage(error));
  }
  return section(t('calendar.title'),
    h('p', {}, t('calendar.intro')),
    alert,
    h('div', { className: 'actions' },
      h('button', { type: 'button', className: 'primary', onclick: call('put', show) }, t('calendar.create')),
      h('button', {
        type: 'button',
        className: 'danger',
        onclick: call('del', () => {
          box.hidden = true;
          clear(box);
          showAlert(status, t('calendar.revoked'));
        }),
      }, t('calendar.revoke'))),
    h('p', { className: 'hint' }, t('calendar.rotate_hint')),
    box,
    status);
}
