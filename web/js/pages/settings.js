import { api } from '../api.js';
import { h } from '../dom.js';
import { bindForm, field, formAlert, submitButton, value } from '../forms.js';
import { apiLocale, languageOptions, t, uiLocale } from '../i18n.js';
import { page } from '../page.js';
import { timeZoneOptions } from '../zones.js';

export default {
  title: 'settings.title',
  async render(ctx) {
    const organisation = await api.get('/organisation');
    const form = h('form', { className: 'form narrow', 'aria-labelledby': 'page-title' },
      formAlert(),
      field({ name: 'name', label: t('signup.organisation_name'), value: organisation.name, required: true }),
      field({ name: 'timezone', label: t('field.timezone'), options: timeZoneOptions(), value: organisation.timezone, hint: t('settings.timezone_hint') }),
      field({ name: 'locale', label: t('settings.locale'), options: languageOptions(), value: uiLocale(organisation.locale) || 'en', hint: t('settings.locale_hint') }),
      field({ name: 'swaps_need_approval', label: t('settings.swaps_need_approval'), type: 'checkbox', value: organisation.swaps_need_approval, hint: t('settings.swaps_need_approval_hint') }),
      h('p', {}, t('settings.address', { slug: organisation.slug })),
      submitButton(t('action.save')));
    bindForm(form, async () => {
      await api.patch('/organisation', {
        name: value(form, 'name'),
        timezone: value(form, 'timezone'),
        locale: apiLocale(value(form, 'locale')),
        swaps_need_approval: value(form, 'swaps_need_approval'),
      });
      await ctx.reloadMe();
      ctx.flash('settings.saved');
    });
    return page('settings.title', form);
  },
};
