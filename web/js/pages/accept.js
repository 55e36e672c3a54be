import { api, saveTokens, session } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton } from '../forms.js';
import { apiLocale, locale, setLocale, t } from '../i18n.js';
import { linkButton, page } from '../page.js';

const CLOSED_KEYS = { expired: 'accept.expired', revoked: 'accept.revoked' };

function refusal(key, params = {}) {
  return page('accept.title', h('p', { className: 'form-error', role: 'alert', 'data-testid': 'invitation-state' }, t(key, params)));
}

// The page first says who invites which address; a link already used, expired or withdrawn
// says so (an accepted one leads to the login). An address without an account chooses its
// password here; one with an account accepts while logged in as it (the API never takes its
// password with an invitation).
export default {
  title: 'accept.title',
  async render(ctx) {
    const token = ctx.query.get('token') || '';
    if (!token) return refusal('accept.no_token');
    let invitation;
    try {
      invitation = await api.post('/invitations/preview', { token }, { auth: false });
    } catch (error) {
      if (error.status === 404 || error.status === 422) return refusal('accept.invalid');
      throw error;
    }
    const named = { organisation: invitation.organisation_name, email: invitation.email, slug: invitation.organisation_slug };
    if (invitation.state === 'accepted') {
      const login = `#/login?email=${encodeURIComponent(invitation.email)}&organisation=${encodeURIComponent(invitation.organisation_slug)}`;
      return page('accept.title',
        h('p', { className: 'notice', 'data-testid': 'invitation-state' }, t('accept.already_accepted', named)),
        h('p', {}, linkButton(login, t('nav.login'))));
    }
    if (CLOSED_KEYS[invitation.state]) return refusal(CLOSED_KEYS[invitation.state], named);
    const loggedIn = Boolean(session());
    const form = h('form', { className: 'form narrow', 'aria-labelledby': 'page-title' },
      formAlert(),
      loggedIn ? null : field({ name: 'password', label: t('field.password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('accept.password_hint') }),
      submitButton(t('accept.submit')));
    bindForm(form, async () => {
      const body = loggedIn ? { token } : { token, password: form.elements.password.value };
      // Logged in as another account, the refusal judges this invitation, not the session.
      saveTokens(await api.post('/invitations/accept', body, { auth: loggedIn, keepSession: true }));
      // They read the invitation in this language: keep it for their profile and this device.
      // Best effort: the invitation is used up now, so a failure here must not stop the login.
      const language = locale();
      await Promise.allSettled([
        setLocale(language, { remember: true }),
        api.patch('/me', { language: apiLocale(language) }),
      ]);
      await ctx.login('/availability');
    }, { messages: { 404: 'accept.invalid', '/problems/conflict': 'accept.used' } });
    const back = `/accept?token=${token}`;
    return page('accept.title',
      h('p', { className: 'lead', 'data-testid': 'invitation-state' }, t('accept.invited', named)),
      h('p', {}, t(loggedIn ? 'accept.logged_in' : 'accept.intro')),
      form,
      loggedIn ? null : h('p', { className: 'links' }, t('accept.have_account'), ' ',
        h('a', { href: `#/login?next=${encodeURIComponent(back)}` }, t('accept.log_in_first'))));
  },
};
