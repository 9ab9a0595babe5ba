import { describe, expect, it } from 'vitest';
import type { Route } from '../consumer/index.ts';
import { testRequest } from '../consumer/testing.ts';
import { orderRoutes } from './api.ts';
import { MemoryOrderStore, type Order } from './store.ts';

const valid = {
  customerId: 'c-1',
  email: 'c-1@example.com',
  currency: 'EUR',
  items: [
    { sku: 'book', quantity: 2, unitPriceCents: 1250 },
    { sku: 'pen', quantity: 1, unitPriceCents: 300 },
  ],
};

function api(publishFails = false) {
  const store = new MemoryOrderStore();
  const published: Order[] = [];
  const routes = orderRoutes({
    store,
    async publishCreated(order) {
      if (publishFails) throw new Error('SNS is down');
      published.push(order);
      await store.markPublished(order.orderId);
    },
  });
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const route = routes.find(
      (r: Route) => r.method === method && (r.path === path || r.path === '/orders/:id'),
    );
    if (!route) throw new Error(`no route ${method} ${path}`);
    const request = testRequest(path, {
      method: route.method,
      params: { id: path.split('/')[2] ?? '' },
      headers,
      body,
    });
    return Promise.resolve(route.handle(request));
  };
  return { store, published, call };
}

describe('POST /orders', () => {
  it('accepts a valid order with 202, its id and total, and publishes OrderCreated', async () => {
    const { call, published, store } = api();
    const response = await call('POST', '/orders', valid);
    expect(response.status).toBe(202);
    const body = response.body as { orderId: string };
    expect(body.orderId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body).toEqual({
      orderId: body.orderId,
      status: 'PENDING',
      totalCents: 2800,
      currency: 'EUR',
    });
    expect(response.headers).toEqual({ location: `/orders/${body.orderId}` });
    expect(published.map((o) => o.orderId)).toEqual([body.orderId]);
    expect((await store.get(body.orderId))?.publishedAt).toBeInstanceOf(Date);
  });

  it('answers 400 with the reason for bad input', async () => {
    const { call, published } = api();
    const cases: [unknown, string][] = [
      [undefined, ''],
      [{ ...valid, email: 'nope' }, 'email'],
      [{ ...valid, items: [] }, 'items'],
      [{ ...valid, items: [{ sku: 'x', quantity: 0, unitPriceCents: 1 }] }, 'items.0.quantity'],
      [{ ...valid, currency: 'euro' }, 'currency'],
      [{ ...valid, discount: 5 }, ''],
      [{ ...valid, items: [{ sku: 'x', quantity: 1000, unitPriceCents: 100_000_000 }] }, 'items'],
    ];
    for (const [body, path] of cases) {
      const response = await call('POST', '/orders', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const issues = (response.body as { issues: { path: string; message: string }[] }).issues;
      expect(issues.map((i) => i.path)).toContain(path);
      expect(issues.every((i) => i.message.length > 0)).toBe(true);
    }
    expect(published).toEqual([]);
  });

  it('returns the same order for a repeated Idempotency-Key, and 409 for a different body', async () => {
    const { call, published } = api();
    const headers = { 'idempotency-key': 'checkout-42' };
    const first = await call('POST', '/orders', valid, headers);
    const again = await call('POST', '/orders', valid, headers);
    expect(again.body).toEqual(first.body);
    expect(published).toHaveLength(1);
    const other = await call('POST', '/orders', { ...valid, currency: 'USD' }, headers);
    expect(other.status).toBe(409);
    expect((await call('POST', '/orders', valid, { 'idempotency-key': 'has space' })).status).toBe(400);
  });

  it('still accepts the order when SNS is down, leaving it to the relay', async () => {
    const { call, store } = api(true);
    const response = await call('POST', '/orders', valid);
    expect(response.status).toBe(202);
    const order = await store.get((response.body as { orderId: string }).orderId);
    expect(order?.publishedAt).toBeNull();
  });
});

describe('GET /orders/:id', () => {
  it('shows the order with its status, or 404', async () => {
    const { call } = api();
    const created = (await call('POST', '/orders', valid)).body as { orderId: string };
    const shown = await call('GET', `/orders/${created.orderId}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      orderId: created.orderId,
      status: 'PENDING',
      totalCents: 2800,
      items: valid.items,
    });
    expect((await call('GET', '/orders/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await call('GET', '/orders/not-a-uuid')).status).toBe(404);
  });
});
