// The one way to call the API: bearer access token, one refresh on 401, RFC 9457 problems
// turned into ApiError (status, problem type, and field errors keyed by input name).

const SESSION_KEY = 'signupflow.session';
const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || String(status));
    this.status = status;
    this.type = problem.type || 'about:blank';
    this.title = problem.title || '';
    this.detail = problem.detail || '';
    // Extension members: `code` and `params` (the message to show, see problemMessage),
    // `rule` (scheduling), `errors` by line and column (CSV import).
    this.code = problem.code || '';
    this.params = problem.params || {};
    this.rule = problem.rule || '';
    this.lines = (problem.errors || []).filter((error) => error.line !== undefined);
    // loc ["body", "slots", 0, "role"] -> "slots.0.role", the name of the input it concerns.
    this.fieldErrors = (problem.errors || []).filter((error) => error.loc).map((error) => ({
      field: (error.loc || []).filter((part, i) => !(i === 0 && ['body', 'query', 'path'].includes(part))).join('.'),
      type: error.type || '',
      code: error.code || '',
      params: error.params || {},
      message: error.msg || '',
    }));
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

// Conditional reads: the last ETag and body of each URL read in this session. A GET sends the
// tag back as If-None-Match; a 304 (nothing changed) reuses the body, so polling costs the
// server little. In memory only, and forgotten when the session ends or another begins.
const lastRead = new Map();
const LAST_READ_LIMIT = 200;  // URLs; the oldest read is forgotten first

function remember(url, etag, text) {
  lastRead.delete(url);
  lastRead.set(url, { etag, text });
  if (lastRead.size > LAST_READ_LIMIT) lastRead.delete(lastRead.keys().next().value);
}

function storeTokens(tokens) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    organisationId: tokens.organisation_id,
  }));
}

// A new sign-in (login, an accepted invitation, a new password).
export function saveTokens(tokens) {
  lastRead.clear();
  storeTokens(tokens);
}

export function clearSession() {
  lastRead.clear();
  localStorage.removeItem(SESSION_KEY);
}

let refreshing = null;
const unauthenticatedListeners = new Set();

export function onUnauthenticated(listener) {
  unauthenticatedListeners.add(listener);
}

async function refresh() {
  const current = session();
  if (!current || !current.refresh) return false;
  if (!refreshing) {
    refreshing = fetch(`${BASE}/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refresh_token: current.refresh }),
    }).then(async (response) => {
      if (!response.ok) return false;
      storeTokens(await response.json());  // the same session, so what it read still holds
      return true;
    }).catch(() => false).finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

function urlOf(path, query) {
  let url = `${BASE}${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  return url;
}

// `known`: the last read of this URL, whose tag asks for a 304 if it still holds.
async function send(method, url, body, contentType, known) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const current = session();
  if (current && current.access) headers.Authorization = `Bearer ${current.access}`;
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  if (known) headers['If-None-Match'] = known.etag;
  const payload = body === undefined || contentType ? body : JSON.stringify(body);
  // no-store: the browser's own cache keeps nothing of the API's answers (they outlive a
  // logout on disk); lastRead above is the only copy, and it is this page's.
  return fetch(url, { method, headers, body: payload, cache: 'no-store' });
}

// `keepSession`: a 401 that judges a password the user typed, not the session itself.
// `contentType`: send `body` as it is (a CSV file's text) instead of as JSON. `raw`: resolve
// with the Response itself (a file to download) once it is known to be a success.
async function request(method, path, {
  body, query, auth = true, keepSession = false, contentType, raw = false,
} = {}) {
  const url = urlOf(path, query);
  const conditional = method === 'GET' && !raw;
  const known = conditional ? lastRead.get(url) : undefined;
  let response;
  try {
    response = await send(method, url, body, contentType, known);
  } catch {
    throw new ApiError(0, { type: '/problems/network' });
  }
  if (response.status === 401 && auth && session()) {
    if (await refresh()) {
      response = await send(method, url, body, contentType, known);
    }
    if (response.status === 401 && !keepSession) {
      clearSession();
      for (const listener of unauthenticatedListeners) listener();
    }
  }
  if (response.status === 304 && known) return JSON.parse(known.text);
  if (response.status === 204) return null;
  if (raw && response.ok) return response;
  const text = await response.text();
  if (conditional && response.ok) {
    const etag = response.headers.get('ETag');
    if (etag) remember(url, etag, text);
    else lastRead.delete(url);
  }
  let data = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = {};
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, body, options = {}) => request('POST', path, { body, ...options }),
  patch: (path, body) => request('PATCH', path, { body }),
  put: (path, body) => request('PUT', path, { body }),
  del: (path, query) => request('DELETE', path, { query }),
};

// A file the API serves behind the login (CSV, iCalendar): fetched with the token and saved
// through a temporary link, under the name the server gives it.
export async function download(path, fallbackName) {
  const response = await request('GET', path, { raw: true });
  const disposition = response.headers.get('Content-Disposition') || '';
  const named = /filename="?([^";]+)"?/.exec(disposition);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = named ? named[1] : fallbackName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Every page of a list endpoint (the API caps a page at 500 items).
export async function all(path, query = {}) {
  const items = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api.get(path, { ...query, limit: 500, offset });
    items.push(...page.items);
    if (items.length >= page.total || !page.items.length) return items;
  }
}
