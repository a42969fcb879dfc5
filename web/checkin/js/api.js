// The check-in API on the same origin, and the login token (sessionStorage, never a URL).

const TOKEN_KEY = "openevent.checkin.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status; // 0: the server could not be reached (offline)
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const logout = () => sessionStorage.removeItem(TOKEN_KEY);

async function request(method, path, body, auth = true) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token()) headers.Authorization = `JWT ${token()}`;
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (exc) {
    throw new ApiError(0, "The server cannot be reached.");
  }
  let parsed = null;
  try {
    parsed = await response.json();
  } catch (exc) {
    parsed = null;
  }
  if (!response.ok) {
    const first = parsed && Array.isArray(parsed.errors) ? parsed.errors[0] : null;
    const detail = first ? first.detail || first.title
      : (parsed && parsed.error) || `The server answered ${response.status}.`;
    throw new ApiError(response.status, detail);
  }
  return parsed;
}

export async function login(email, password) {
  const body = await request("POST", "/v1/auth/login", { email, password }, false);
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
}

export const events = async () => (await request("GET", "/v1/checkin/events")).events;
export const keys = async (eventId) =>
  (await request("GET", `/v1/checkin/events/${eventId}/keys`)).keys;
export const figures = (eventId) => request("GET", `/v1/checkin/events/${eventId}/figures`);

export async function attendees(eventId) {
  const out = [];
  let cursor = null;
  do {
    const query = `page[size]=2000${cursor ? `&page[cursor]=${encodeURIComponent(cursor)}` : ""}`;
    const page = await request("GET", `/v1/checkin/events/${eventId}/attendees?${query}`);
    out.push(...page.attendees);
    cursor = page.next;
  } while (cursor);
  return out;
}

// One scan: {code, "scan-id", device, "scanned-at"?} → {result, reason, message, attendee, ...}
export const scan = (eventId, body) =>
  request("POST", `/v1/checkin/events/${eventId}/scans`, body);
