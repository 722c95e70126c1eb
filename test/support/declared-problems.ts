/**
 * Conformance: every problem an operation answers in the test suite must be
 * one the OpenAPI document declares for that operation (`x-custodes-problems`
 * on its responses), so a spec that lists too few codes fails here, wherever
 * a test first meets the undeclared one. Requests that match no operation
 * (404 route_not_found, 405) are the router's, not an operation's.
 */
import { createApp, openApiDocument } from '../../src/app';

interface Operation {
  id: string;
  pattern: RegExp;
  /** Literal characters of the path template: the most specific match wins (`{vm}` vs `{vm}:migrate`). */
  specificity: number;
  codes: Set<string>;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
let table: Map<string, Operation[]> | undefined;

function operations(): Map<string, Operation[]> {
  if (table) return table;
  table = new Map();
  for (const [path, item] of Object.entries(openApiDocument(createApp()).paths ?? {})) {
    for (const method of METHODS) {
      const op = (item as Record<string, any>)[method];
      if (!op) continue;
      const codes = new Set<string>(
        Object.values(op.responses as Record<string, { 'x-custodes-problems'?: string[] }>).flatMap((r) => r['x-custodes-problems'] ?? []),
      );
      const source = path
        .split(/\{[^}]+\}/)
        .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
        .join('[^/:]+'); // a custom method (`:drain`) is part of the path, not of an id
      const list = table.get(method.toUpperCase()) ?? [];
      list.push({ id: op.operationId, pattern: new RegExp(`^${source}$`), specificity: path.replace(/\{[^}]+\}/g, '').length, codes });
      table.set(method.toUpperCase(), list);
    }
  }
  return table;
}

/** Throws when `response` is a problem its operation does not declare. */
export async function expectDeclaredProblem(method: string, url: string, response: Response): Promise<void> {
  if (!response.headers.get('Content-Type')?.startsWith('application/problem+json')) return;
  const path = new URL(url, 'http://custodes.test').pathname;
  const matches = (operations().get(method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase()) ?? []).filter((op) => op.pattern.test(path));
  const op = matches.sort((a, b) => b.specificity - a.specificity)[0];
  if (!op) return;
  const { code } = (await response.clone().json()) as { code: string };
  if (code === 'route_not_found' || code === 'method_not_allowed') return; // the router's answer, not the operation's
  if (!op.codes.has(code))
    throw new Error(`${op.id} answered ${response.status} ${code}, which openapi.yaml does not declare for it (add it to the route's \`problems\`)`);
}
