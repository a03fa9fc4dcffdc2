// What every mode shares: HTML escaping, JSON requests to the API, bounding boxes, an empty FeatureCollection.

/** `text` safe inside HTML text and quoted attributes (null and undefined become ''). */
export function escapeHtml(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

export const EMPTY = {type: 'FeatureCollection', features: []};

/** `[[west, south], [east, north]]` of a GeoJSON geometry (any nesting of positions in `coordinates`). */
export function bboxOf(geometry) {
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      minX = Math.min(minX, c[0]); minY = Math.min(minY, c[1]);
      maxX = Math.max(maxX, c[0]); maxY = Math.max(maxY, c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return [[minX, minY], [maxX, maxY]];
}

const ACCEPT = 'application/json, application/geo+json, application/problem+json';

/** An answer outside 2xx, with its RFC 9457 problem (`detail`, `title`, `status`, …) when it has one. */
export class ApiError extends Error {
  constructor(status, problem, url) {
    super(problem?.detail || problem?.title || `${status} ${url}`);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * One request: `body` (when given) is sent as JSON, `ifMatch` (a plan's version) as `If-Match`. Answers
 * `{status, body}` whatever the status: `body` is the parsed JSON, `{detail: text}` when the answer is not JSON,
 * null when it is empty. Only a network failure throws.
 */
export async function requestJson(method, url, body, ifMatch) {
  const headers = {accept: ACCEPT};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (ifMatch !== undefined) headers['if-match'] = `"${ifMatch}"`;
  const response = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = {detail: text};
  }
  return {status: response.status, body: parsed};
}

async function bodyOrThrow(method, url, body) {
  const answer = await requestJson(method, url, body);
  if (answer.status < 200 || answer.status > 299) throw new ApiError(answer.status, answer.body, url);
  return answer.body;
}

/** The JSON at `url`; an answer outside 2xx throws an `ApiError`. */
export const getJson = (url) => bodyOrThrow('GET', url);

/** POSTs `body` as JSON and answers the JSON back; an answer outside 2xx throws an `ApiError`. */
export const postJson = (url, body) => bodyOrThrow('POST', url, body);
