import { describe, expect, test } from 'bun:test';
import { t } from 'elysia';
import { NoInstanceError, schemaInstance, uuidPointers } from './schema-instance.ts';

describe('schemaInstance', () => {
  test('fills every property with its smallest valid value; a nullable union takes null', () => {
    const schema = t.Object(
      {
        name: t.String({ minLength: 3, maxLength: 10 }),
        parentId: t.Optional(t.Union([t.String({ format: 'uuid' }), t.Null()])),
        status: t.Union([t.Literal('active'), t.Literal('suspended')]),
        amount: t.Number({ minimum: -100, maximum: 100, multipleOf: 1 }),
        threshold: t.Integer({ minimum: 5 }),
        tags: t.Array(t.String(), { minItems: 2 }),
        at: t.String({ format: 'date-time' }),
      },
      { minProperties: 1 },
    );
    const value = schemaInstance(schema) as Record<string, unknown>;
    expect(value).toMatchObject({
      name: 'xxx',
      parentId: null,
      status: 'active',
      amount: 1,
      threshold: 5,
      tags: ['x', 'x'],
    });
    expect(Date.parse(value.at as string)).toBeGreaterThan(Date.now());
  });

  test('a number documented as a query-string alternative is sent as a number', () => {
    const schema = {
      anyOf: [
        { type: 'string', format: 'integer' },
        { type: 'integer', minimum: 0 },
      ],
    };
    expect(schemaInstance(schema)).toBe(1);
  });

  test('a given value at a pointer wins, and makes an empty-by-default array hold it', () => {
    const schema = t.Object({
      roleIds: t.Array(t.String({ format: 'uuid' })),
      parentId: t.String({ format: 'uuid' }),
    });
    const value = schemaInstance(schema, { valueAt: (at) => (at === '/roleIds/0' ? 'role' : undefined) });
    expect(value).toMatchObject({ roleIds: ['role'], parentId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  test('a schema it cannot satisfy is named by its pointer', () => {
    const schema = t.Object({ colour: t.String({ pattern: '^#[0-9a-f]{6}$' }) });
    expect(() => schemaInstance(schema)).toThrow(NoInstanceError);
    expect(() => schemaInstance(schema)).toThrow('"/colour" has pattern');
  });
});

describe('uuidPointers', () => {
  test('lists every id a body can name, array items as /0, through unions', () => {
    const schema = t.Object({
      roleIds: t.Array(t.String({ format: 'uuid' })),
      parentId: t.Optional(t.Union([t.String({ format: 'uuid' }), t.Null()])),
      name: t.String(),
    });
    expect(uuidPointers(schema)).toEqual(['/roleIds/0', '/parentId']);
  });
});
