// Messages live in /static/locales/<tag>.json. Markup is translated through data-i18n
// (text), data-i18n-placeholder, data-i18n-aria-label and data-i18n-title; scripts call t().

export const LOCALES = ['en', 'es', 'fr', 'pt', 'zh-Hans', 'zh-Hant'];
export const LANGUAGE_KEYS = {
  en: 'language.en', es: 'language.es', fr: 'language.fr', pt: 'language.pt',
  'zh-Hans': 'language.zh-Hans', 'zh-Hant': 'language.zh-Hant',
};
// The API names the Chinese scripts by region; the interface by script (BCP 47).
const API_TO_UI = { 'zh-CN': 'zh-Hans', 'zh-TW': 'zh-Hant' };
const UI_TO_API = { 'zh-Hans': 'zh-CN', 'zh-Hant': 'zh-TW' };
const STORAGE_KEY = 'signupflow.locale';

let current = 'en';
let messages = {};
let fallback = {};
let timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const listeners = new Set();

export function uiLocale(apiLocale) {
  if (!apiLocale) return null;
  if (API_TO_UI[apiLocale]) return API_TO_UI[apiLocale];
  return LOCALES.includes(apiLocale) ? apiLocale : null;
}

export function apiLocale(locale) {
  return UI_TO_API[locale] || locale;
}

export function locale() {
  return current;
}

export function storedLocale() {
  return uiLocale(localStorage.getItem(STORAGE_KEY));
}

export function browserLocale() {
  for (const tag of navigator.languages || [navigator.language]) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) {
      return /hant|tw|hk|mo/.test(lower) ? 'zh-Hant' : 'zh-Hans';
    }
    const base = lower.split('-')[0];
    if (LOCALES.includes(base)) return base;
  }
  return 'en';
}

async function load(tag) {
  const response = await fetch(`/static/locales/${tag}.json`);
  if (!response.ok) throw new Error(`locale ${tag}: ${response.status}`);
  return response.json();
}

export async function setLocale(tag, { remember = false } = {}) {
  const chosen = LOCALES.includes(tag) ? tag : 'en';
  if (!Object.keys(fallback).length) fallback = await load('en');
  messages = chosen === 'en' ? fallback : await load(chosen);
  current = chosen;
  if (remember) localStorage.setItem(STORAGE_KEY, chosen);
  document.documentElement.lang = chosen;
  translate(document);
  for (const listener of listeners) listener(chosen);
}

export function onLocaleChange(listener) {
  listeners.add(listener);
}

// Whether the current locale (or English) has `key`: a key named by the server (a problem
// code) may be newer than these files, and asking t() for it would log a missing key.
export function hasMessage(key) {
  return key in messages || key in fallback;
}

// Counts follow each language's plural rules (Intl.PluralRules) through ICU's plural syntax:
// "{count, plural, one {# shift is} other {# shifts are}} waiting." (=N picks an exact
// number; # is the number in the interface's language; forms hold no nested parameters).
const PLURAL = /\{(\w+), plural,((?:\s*(?:=\d+|zero|one|two|few|many|other)\s*\{[^{}]*\})+)\s*\}/g;

// A message's parameter; a missing or null one is a bug of the caller, logged (the browser
// tests fail on it) and left out: never shown as "{name}", "null" or "undefined".
function given(key, params, name) {
  const found = params[name];
  if (found === undefined || found === null) {
    console.error('i18n-missing-param', key, name);
    return null;
  }
  return found;
}

function plural(key, text, params) {
  return text.replace(PLURAL, (match, name, forms) => {
    const count = Number(given(key, params, name) ?? NaN);
    if (Number.isNaN(count)) return '';
    const options = Object.fromEntries([...forms.matchAll(/(=\d+|\w+)\s*\{([^{}]*)\}/g)].map(([, form, body]) => [form, body]));
    const chosen = options[`=${count}`] ?? options[new Intl.PluralRules(current).select(count)] ?? options.other;
    return chosen.replace(/#/g, new Intl.NumberFormat(current).format(count));
  });
}

export function t(key, params = {}) {
  let text = messages[key];
  if (text === undefined) {
    console.error('i18n-missing-key', key);
    text = fallback[key] ?? key;
  }
  return plural(key, text, params).replace(/\{(\w+)\}/g, (match, name) => String(given(key, params, name) ?? ''));
}

function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ['placeholder', 'aria-label', 'title']) {
    const data = `data-i18n-${attr}`;
    for (const el of root.querySelectorAll(`[${data}]`)) el.setAttribute(attr, t(el.getAttribute(data)));
  }
}

// Times are shown in the organisation's zone, in the interface's language.
export function setTimeZone(zone) {
  timeZone = zone || 'UTC';
}

export function currentTimeZone() {
  return timeZone;
}

export function formatDateTime(iso) {
  return new Intl.DateTimeFormat(current, {
    dateStyle: 'medium', timeStyle: 'short', timeZone,
  }).format(new Date(iso));
}

export function formatTimeRange(startIso, endIso) {
  const format = new Intl.DateTimeFormat(current, {
    dateStyle: 'full', timeStyle: 'short', timeZone,
  });
  return format.formatRange(new Date(startIso), new Date(endIso));
}

// The days a period covers, from its first to its last: a period that ends at midnight ends
// the day before ("6 – 31 Dec 2026", not "... until 1 Jan 2027, 00:00").
export function formatDayRange(startIso, endIso) {
  const format = new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeZone });
  const lastMoment = new Date(Math.max(Date.parse(startIso), Date.parse(endIso) - 1));
  return format.formatRange(new Date(startIso), lastMoment);
}

// Calendar dates (time off) have no zone: format them as UTC so the day never shifts.
export function formatDay(isoDay) {
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeZone: 'UTC' })
    .format(new Date(`${isoDay}T00:00:00Z`));
}

// Wall-clock times (availability windows), e.g. "18:30" in the interface's convention.
export function formatWallTime(hhmm) {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return new Intl.DateTimeFormat(current, { timeStyle: 'short', timeZone: 'UTC' })
    .format(new Date(Date.UTC(2024, 0, 1, hours, minutes)));
}

// 0 = Monday ... 6 = Sunday, as the API counts; 2024-01-01 was a Monday.
export function weekdayName(weekday) {
  return new Intl.DateTimeFormat(current, { weekday: 'long', timeZone: 'UTC' })
    .format(new Date(Date.UTC(2024, 0, 1 + weekday)));
}

export function languageOptions() {
  return LOCALES.map((tag) => ({ value: tag, label: t(LANGUAGE_KEYS[tag]) }));
}
