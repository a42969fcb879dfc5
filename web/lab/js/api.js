// The lab API on the same origin (/v1/...), and the login token.
// The token lives in sessionStorage only (never in a URL); logout() removes it.

const TOKEN_KEY = "openevent.lab.token";

export class ApiError extends Error {
  constructor(status, detail, pointer) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.pointer = pointer || null;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Called when the API says the token is no longer good (401).
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

function errorFrom(status, body) {
  // §1 errors: {"errors": [{"status", "title", "detail", "source": {"pointer"}}]};
  // login failures: {"error": "Invalid Credentials"}.
  const first = body && Array.isArray(body.errors) ? body.errors[0] : null;
  if (first) {
    return new ApiError(status, first.detail || first.title || `HTTP ${status}`,
      first.source && first.source.pointer);
  }
  if (body && typeof body.error === "string") return new ApiError(status, body.error);
  return new ApiError(status, `The server answered ${status}.`);
}

// request("POST", "/v1/lab/calls", {function: "..."}) → parsed JSON body; throws ApiError.
export async function request(method, path, body, { jsonapi = false, auth = true } = {}) {
  const headers = { Accept: jsonapi ? "application/vnd.api+json" : "application/json" };
  if (body !== undefined) {
    headers["Content-Type"] = jsonapi ? "application/vnd.api+json" : "application/json";
  }
  const current = token();
  if (auth && current) headers.Authorization = `JWT ${current}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (exc) {
    throw new ApiError(0, "The lab server cannot be reached. Check your connection.");
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch (exc) {
      parsed = null;
    }
  }
  if (!response.ok) {
    const error = errorFrom(response.status, parsed);
    if (response.status === 401 && auth) onUnauthorized(error);
    throw error;
  }
  return { status: response.status, body: parsed };
}

// --- auth ------------------------------------------------------------------------------

export async function login(email, password) {
  const { body } = await request("POST", "/v1/auth/login", { email, password }, { auth: false });
  setToken(body.access_token);
}

export async function signup(name, email, password) {
  const attributes = { email, password, "first-name": name, "public-name": name };
  await request("POST", "/v1/users", { data: { type: "user", attributes } },
    { jsonapi: true, auth: false });
}

export async function me() {
  const { body } = await request("GET", "/v1/users/user-details/get-user-id");
  const user = await request("GET", `/v1/users/${body.user_id}`, undefined, { jsonapi: true });
  return user.body.data.attributes;
}

// --- lab -------------------------------------------------------------------------------

export const lab = {
  functions: async () => (await request("GET", "/v1/lab/functions")).body,
  devices: async () => (await request("GET", "/v1/lab/devices")).body,
  examples: async () => (await request("GET", "/v1/lab/examples")).body,
  example: async (name) =>
    (await request("GET", `/v1/lab/examples/${encodeURIComponent(name)}`)).body,

  // Executes a function string; waits for the result (polling while it is pending).
  async call(functionString) {
    let { body } = await request("POST", "/v1/lab/calls", { function: functionString });
    while (body.status === "pending") {
      await sleep(250);
      ({ body } = await request("GET", `/v1/lab/calls/${encodeURIComponent(body.id)}`));
    }
    return body;
  },

  scripts: async () =>
    (await request("GET", "/v1/lab/scripts?page[size]=0", undefined, { jsonapi: true }))
      .body.data.map(scriptFrom),
  script: async (id) =>
    scriptFrom((await request("GET", `/v1/lab/scripts/${encodeURIComponent(id)}`,
      undefined, { jsonapi: true })).body.data),
  async saveScript(id, title, code) {
    const data = { type: "lab-script", attributes: { title, code } };
    if (id) {
      data.id = id;
      return scriptFrom((await request("PATCH", `/v1/lab/scripts/${encodeURIComponent(id)}`,
        { data }, { jsonapi: true })).body.data);
    }
    return scriptFrom((await request("POST", "/v1/lab/scripts", { data }, { jsonapi: true }))
      .body.data);
  },
  deleteScript: (id) =>
    request("DELETE", `/v1/lab/scripts/${encodeURIComponent(id)}`, undefined, { jsonapi: true }),

  // source: {kind: "example", name} or {kind: "script", id} → {id, status: "queued"}
  async startRun(source) {
    const path = source.kind === "example"
      ? `/v1/lab/examples/${encodeURIComponent(source.name)}/runs`
      : `/v1/lab/scripts/${encodeURIComponent(source.id)}/runs`;
    return (await request("POST", path, {})).body;
  },
  run: async (id) => (await request("GET", `/v1/lab/runs/${encodeURIComponent(id)}`)).body,
  stopRun: async (id) =>
    (await request("POST", `/v1/lab/runs/${encodeURIComponent(id)}/stop`, {})).body,
};

function scriptFrom(resource) {
  return {
    id: resource.id,
    title: resource.attributes.title,
    code: resource.attributes.code,
    updatedAt: resource.attributes["updated-at"],
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
