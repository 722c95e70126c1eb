/**
 * Handlers shared by memory pages and disk blocks: the two differ only in the
 * space and in which path parameter names the resource.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { failureResponse } from '../../http/problem';
import * as contents from '../../services/contents';

const resourceOf = (c: Context<AppEnv>, space: contents.Space, tenant: string, id: string) =>
  contents.contentResource(c.get('db'), tenant, space, id, c.get('principal').vms);

export async function writePages(c: Context<AppEnv>, space: contents.Space, tenant: string, id: string, pages: contents.PageWrite[]) {
  const resource = await resourceOf(c, space, tenant, id);
  if (!resource.ok) return failureResponse(c, resource.error);
  const result = await contents.writePages(c.get('db'), c.get('audit').commit, resource.value, pages);
  return result.ok ? c.json(result.value, 200) : failureResponse(c, result.error);
}

export async function readPages(c: Context<AppEnv>, space: contents.Space, tenant: string, id: string, start: number, count: number) {
  const resource = await resourceOf(c, space, tenant, id);
  if (!resource.ok) return failureResponse(c, resource.error);
  const result = await contents.readPages(c.get('db'), resource.value, start, count);
  if (!result.ok) return failureResponse(c, result.error);
  // The record appended after this response lists exactly these versions.
  c.get('audit').regions = result.value.regions;
  return c.json({ pages: result.value.pages }, 200);
}

export async function readVersion(c: Context<AppEnv>, space: contents.Space, tenant: string, id: string, index: number, version: number) {
  const resource = await resourceOf(c, space, tenant, id);
  if (!resource.ok) return failureResponse(c, resource.error);
  const result = await contents.readVersion(c.get('db'), resource.value, index, version);
  if (!result.ok) return failureResponse(c, result.error);
  c.get('audit').regions = result.value.regions;
  return c.json(result.value.page, 200);
}
