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
    // loc ["body", "slots", 0, "role"] -> "slots.0.role", the name of the input it concerns.
    this.fieldErrors = (problem.errors || []).map((error) => ({
      field: (error.loc || []).filter((part, i) => !(i === 0 && ['body', 'query', 'path'].includes(part))).join('.'),
      type: error.type || '',
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

export function saveTokens(tokens) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    organisationId: tokens.organisation_id,
  }));
}

export function clearSession() {
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
      saveTokens(await response.json());
      return true;
    }).catch(() => false).finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function send(method, path, body, query) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const current = session();
  if (current && current.access) headers.Authorization = `Bearer ${current.access}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let url = `${BASE}${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  return fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

// `keepSession`: a 401 that judges a password the user typed, not the session itself.
export async function request(method, path, { body, query, auth = true, keepSession = false } = {}) {
  let response;
  try {
    response = await send(method, path, body, query);
  } catch {
    throw new ApiError(0, { type: '/problems/network' });
  }
  if (response.status === 401 && auth && session()) {
    if (await refresh()) {
      response = await send(method, path, body, query);
    }
    if (response.status === 401 && !keepSession) {
      clearSession();
      for (const listener of unauthenticatedListeners) listener();
    }
  }
  if (response.status === 204) return null;
  const text = await response.text();
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
  del: (path) => request('DELETE', path),
};

// Every page of a list endpoint (the API caps a page at 500 items).
export async function all(path, query = {}) {
  const items = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api.get(path, { ...query, limit: 500, offset });
    items.push(...page.items);
    if (items.length >= page.total || !page.items.length) return items;
  }
}
