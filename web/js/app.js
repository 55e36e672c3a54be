// Hash router: one module per page in ./pages, loaded on first visit. A page module exports
// `title` (a message key) and `render(ctx)` returning the page's element.
import { api, clearSession, onUnauthenticated, session } from './api.js';
import { clear, h } from './dom.js';
import {
  LANGUAGE_KEYS, LOCALES, apiLocale, browserLocale, locale, onLocaleChange, setLocale, setTimeZone,
  storedLocale, t, uiLocale,
} from './i18n.js';

const RANK = { volunteer: 1, scheduler: 2, admin: 3 };

// access: 'public', 'member' (any role), 'scheduler' or 'admin'; nav: a menu label key.
const ROUTES = [
  { path: '/login', load: () => import('./pages/login.js'), access: 'public' },
  { path: '/signup', load: () => import('./pages/signup.js'), access: 'public' },
  { path: '/signup/confirm', load: () => import('./pages/signup-confirm.js'), access: 'public' },
  { path: '/forgot-password', load: () => import('./pages/forgot-password.js'), access: 'public' },
  { path: '/reset-password', load: () => import('./pages/reset-password.js'), access: 'public' },
  { path: '/accept', load: () => import('./pages/accept.js'), access: 'public' },
  { path: '/dashboard', load: () => import('./pages/dashboard.js'), access: 'scheduler', nav: 'nav.dashboard' },
  { path: '/events', load: () => import('./pages/events.js'), access: 'scheduler', nav: 'nav.events' },
  { path: '/events/new', load: () => import('./pages/event-form.js'), access: 'scheduler' },
  { path: '/events/:id', load: () => import('./pages/event-form.js'), access: 'scheduler' },
  { path: '/people', load: () => import('./pages/people.js'), access: 'scheduler', nav: 'nav.people' },
  { path: '/people/:id', load: () => import('./pages/person.js'), access: 'scheduler' },
  { path: '/schedule', load: () => import('./pages/schedule.js'), access: 'scheduler', nav: 'nav.schedule' },
  { path: '/teams', load: () => import('./pages/teams.js'), access: 'scheduler', nav: 'nav.teams' },
  { path: '/settings', load: () => import('./pages/settings.js'), access: 'admin', nav: 'nav.settings' },
  { path: '/my-schedule', load: () => import('./pages/my-schedule.js'), access: 'member', nav: 'nav.my_schedule' },
  { path: '/open-shifts', load: () => import('./pages/open-shifts.js'), access: 'member', nav: 'nav.open_shifts' },
  { path: '/swaps', load: () => import('./pages/swaps.js'), access: 'member', nav: 'nav.swaps' },
  { path: '/availability', load: () => import('./pages/availability.js'), access: 'member', nav: 'nav.availability' },
  { path: '/profile', load: () => import('./pages/profile.js'), access: 'member', nav: 'nav.profile' },
];

const state = { me: null };
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const statusRegion = document.getElementById('status');
const languageSelect = document.getElementById('language-select');
const logoutButton = document.getElementById('logout');

function parseHash() {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = raw.split('?');
  return { path, query: new URLSearchParams(search) };
}

function match(path) {
  for (const route of ROUTES) {
    const names = [];
    const pattern = new RegExp(`^${route.path.replace(/:(\w+)/g, (m, name) => {
      names.push(name);
      return '([^/]+)';
    })}$`);
    const found = pattern.exec(path);
    if (found) {
      const params = {};
      names.forEach((name, i) => { params[name] = decodeURIComponent(found[i + 1]); });
      return { route, params };
    }
  }
  return null;
}

let pendingFlash = null;

// `flash`: a message key shown on the page navigated to (e.g. "Event saved").
export function navigate(path, { flash: flashKey, params } = {}) {
  if (flashKey) pendingFlash = t(flashKey, params);
  if (window.location.hash === `#${path}`) render();
  else window.location.hash = path;
}

function homePath() {
  if (!state.me) return '/login';
  return RANK[state.me.role] >= RANK.scheduler ? '/dashboard' : '/my-schedule';
}

function allowed(route) {
  if (route.access === 'public') return true;
  if (!state.me) return false;
  if (route.access === 'member') return true;
  return RANK[state.me.role] >= RANK[route.access];
}

export function flash(key, params) {
  showFlash(t(key, params));
}

function showFlash(text) {
  statusRegion.textContent = '';
  window.setTimeout(() => { statusRegion.textContent = text; }, 50);
  const banner = main.querySelector('.flash');
  if (banner) {
    banner.textContent = text;
    banner.hidden = false;
  }
}

async function loadMe() {
  if (!session()) {
    state.me = null;
    return null;
  }
  try {
    state.me = await api.get('/me');
  } catch {
    state.me = null;
  }
  if (state.me) setTimeZone(state.me.organisation.timezone);
  return state.me;
}

function preferredLocale() {
  return storedLocale()
    || uiLocale(state.me && state.me.person && state.me.person.language)
    || uiLocale(state.me && state.me.organisation.locale)
    || browserLocale();
}

function renderNav() {
  clear(nav);
  logoutButton.hidden = !state.me;
  const { path } = parseHash();
  const items = state.me
    ? ROUTES.filter((route) => route.nav && allowed(route))
    : ROUTES.filter((route) => ['/login', '/signup'].includes(route.path));
  const list = h('ul', {}, items.map((route) => {
    const current = path === route.path || path.startsWith(`${route.path}/`);
    return h('li', {}, h('a', { href: `#${route.path}`, 'aria-current': current ? 'page' : null },
      t(route.nav || (route.path === '/login' ? 'nav.login' : 'nav.signup'))));
  }));
  nav.appendChild(list);
}

function renderLanguageSelect() {
  clear(languageSelect);
  for (const tag of LOCALES) {
    languageSelect.appendChild(h('option', { value: tag, lang: tag, selected: tag === locale() }, t(LANGUAGE_KEYS[tag])));
  }
}

let renderCount = 0;

async function render() {
  const count = ++renderCount;
  const { path, query } = parseHash();
  const found = match(path);
  if (!found) {
    navigate(homePath());
    return;
  }
  if (!allowed(found.route)) {
    if (!state.me) {
      navigate(`/login?next=${encodeURIComponent(path)}`);
    } else {
      navigate(homePath());
    }
    return;
  }
  const module = await found.route.load();
  if (count !== renderCount) return;
  const page = module.default;
  const ctx = {
    params: found.params,
    query,
    me: state.me,
    navigate,
    flash,
    login: afterLogin,
    reloadMe: async () => {
      await loadMe();
      renderNav();
      return state.me;
    },
  };
  document.title = `${t(page.title)} – ${t('app.name')}`;
  renderNav();
  main.setAttribute('aria-busy', 'true');
  let content;
  try {
    content = await page.render(ctx);
  } catch (error) {
    console.error(error);
    content = h('div', {}, h('h1', {}, t(page.title)), h('p', { className: 'form-error', role: 'alert' }, t('error.load_failed')));
  }
  if (count !== renderCount) return;
  clear(main);
  main.appendChild(content);
  main.removeAttribute('aria-busy');
  main.dataset.page = found.route.path.slice(1).replace(/\/:?/g, '-');
  if (pendingFlash) {
    showFlash(pendingFlash);
    pendingFlash = null;
  }
  // After a navigation, screen readers start at the new content; on first load the skip link
  // stays the first stop.
  if (count > 1 && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

// Called with a TokenResponse already saved: loads who we are and goes to `next` or home.
async function afterLogin(next) {
  await loadMe();
  const chosen = preferredLocale();
  if (chosen !== locale()) await setLocale(chosen);
  navigate(next && next.startsWith('/') ? next : homePath());
}

async function logout() {
  try {
    await api.post('/auth/logout');
  } catch {
    // The session ends on this device either way.
  }
  clearSession();
  state.me = null;
  navigate('/login');
}

async function start() {
  // A client route reached as a path (/login, /accept?token=...) becomes the same hash route.
  if (window.location.pathname !== '/' && !window.location.hash) {
    window.history.replaceState(null, '', `/#${window.location.pathname}${window.location.search}`);
  }
  await loadMe();
  await setLocale(preferredLocale());
  renderLanguageSelect();
  onLocaleChange(() => {
    renderLanguageSelect();
    render();
  });
  languageSelect.addEventListener('change', async () => {
    const chosen = languageSelect.value;
    await setLocale(chosen, { remember: true });
    if (state.me && state.me.person) {
      try {
        state.me = await api.patch('/me', { language: apiLocale(chosen) });
      } catch {
        // Shown in this language on this device even when the profile could not be saved.
      }
    }
    languageSelect.focus();
  });
  logoutButton.addEventListener('click', logout);
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  onUnauthenticated(() => {
    state.me = null;
    const { path } = parseHash();
    const found = match(path);
    if (found && found.route.access !== 'public') navigate(`/login?next=${encodeURIComponent(path)}`);
  });
  window.addEventListener('hashchange', render);
  await render();
}

start();
