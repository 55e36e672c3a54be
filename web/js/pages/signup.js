import { api } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { apiLocale, currentTimeZone, languageOptions, locale, setLocale, t } from '../i18n.js';
import { page } from '../page.js';
import { timeZoneOptions } from '../zones.js';

function slugify(text) {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
}

export default {
  title: 'signup.title',
  render(ctx) {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || currentTimeZone();
    const form = h('form', { className: 'form narrow', 'aria-labelledby': 'page-title' },
      formAlert(),
      h('fieldset', {}, h('legend', {}, t('signup.organisation')),
        field({ name: 'organisation_name', label: t('signup.organisation_name'), required: true, autocomplete: 'organization' }),
        field({ name: 'slug', label: t('signup.slug'), required: true, hint: t('signup.slug_hint'), attrs: { autocapitalize: 'none', spellcheck: 'false' } }),
        field({ name: 'timezone', label: t('field.timezone'), options: timeZoneOptions(), value: browserZone }),
        field({ name: 'locale', label: t('field.language'), options: languageOptions(), value: locale() })),
      h('fieldset', {}, h('legend', {}, t('signup.you')),
        field({ name: 'name', label: t('field.name'), required: true, autocomplete: 'name' }),
        field({ name: 'email', label: t('field.email'), type: 'email', required: true, autocomplete: 'email' }),
        field({ name: 'password', label: t('field.password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('field.password_hint') })),
      submitButton(t('signup.submit')));
    let slugEdited = false;
    form.elements.slug.addEventListener('input', () => { slugEdited = true; });
    form.elements.organisation_name.addEventListener('input', () => {
      if (!slugEdited) form.elements.slug.value = slugify(form.elements.organisation_name.value);
    });
    bindForm(form, async () => {
      const chosen = value(form, 'locale');
      const email = value(form, 'email');
      // The organisation exists once the mailed link is followed; the answer is the same
      // whether or not this address already has an account.
      await api.post('/auth/signup', {
        organisation_name: value(form, 'organisation_name'),
        slug: value(form, 'slug'),
        timezone: value(form, 'timezone'),
        locale: apiLocale(chosen),
        name: value(form, 'name'),
        email,
        password: form.elements.password.value,
      }, { auth: false });
      await setLocale(chosen, { remember: true });
      // Where they will land from the mailed link's page, logged in or not.
      ctx.navigate('/login', { flash: 'signup.check_inbox', params: { email } });
    }, {
      fieldFor: (error) => (error.status === 409 && error.code === 'organisation.slug_taken'
        ? { field: 'slug', key: 'signup.error.slug_taken' }
        : null),
    });
    return page('signup.title', h('p', {}, t('signup.intro')), form,
      h('p', { className: 'links' }, h('a', { href: '#/login' }, t('signup.have_account'))));
  },
};
