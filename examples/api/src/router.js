// A tiny router: routes are data (method, pattern, handler); matching is a pure function.

/**
 * @template H
 * @typedef {{ method: string, pattern: string, handler: H }} Route
 */

/**
 * @template H
 * @typedef {{ kind: 'found', route: string, params: Record<string, string>, handler: H }
 *   | { kind: 'method-not-allowed', route: string, allow: string[] }
 *   | { kind: 'not-found' }} Match
 */

/**
 * Find the route for a request. Patterns are literal segments and `:name` parameters.
 * @template H
 * @param {Route<H>[]} routes
 * @param {string} method
 * @param {string} pathname  without the query string
 * @returns {Match<H>}
 * @example match(routes, 'GET', '/items/7') // { kind: 'found', route: '/items/:id', params: { id: '7' }, ... }
 */
export function match(routes, method, pathname) {
  const segments = split(pathname);
  /** @type {string[]} */
  const allow = [];
  let matchedPattern;
  for (const r of routes) {
    const params = matchPattern(split(r.pattern), segments);
    if (!params) continue;
    if (r.method === method) return { kind: 'found', route: r.pattern, params, handler: r.handler };
    allow.push(r.method);
    matchedPattern = r.pattern;
  }
  if (matchedPattern) return { kind: 'method-not-allowed', route: matchedPattern, allow };
  return { kind: 'not-found' };
}

/** @param {string} path */
function split(path) {
  return path.split('/').filter((s) => s !== '');
}

/** @param {string[]} pattern @param {string[]} segments @returns {Record<string, string> | undefined} */
function matchPattern(pattern, segments) {
  if (pattern.length !== segments.length) return undefined;
  /** @type {Record<string, string>} */
  const params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = /** @type {string} */ (pattern[i]);
    const s = /** @type {string} */ (segments[i]);
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        return undefined;
      }
    } else if (p !== s) return undefined;
  }
  return params;
}
