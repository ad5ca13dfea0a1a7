// Every call to the server goes through this module: JSON in and out, the CSRF token on writes, errors as
// ApiError carrying the server's own words (`detail`, and the field it names), uploads with progress.

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body || {};
    this.field = this.body.field || null;
  }
}

function describe(status, body) {
  if (body && body.detail) return body.field ? `${body.detail}` : body.detail;
  if (status === 0) return "The server cannot be reached. Check your connection and try again.";
  if (status >= 500) return `The server failed (${status}). Try again; if it persists, tell an admin.`;
  return `The request failed (${status}).`;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (method !== "GET") init.headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1/${path}`, init);
  } catch {
    throw new ApiError(0, null);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Every page of a paginated list (lists here are small: a mission's targets, a team's versions).
export async function all(path) {
  const items = [];
  let next = path;
  while (next) {
    const page = await api(next);
    if (!page || !Array.isArray(page.results)) return page || [];
    items.push(...page.results);
    next = page.next ? page.next.replace(/^.*\/api\/v1\//, "") : null;
  }
  return items;
}

// A multipart upload with progress (fetch cannot report upload progress; XMLHttpRequest can).
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/${path}`);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.onload = () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = { detail: xhr.responseText.slice(0, 200) };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    };
    xhr.send(form);
  });
}
