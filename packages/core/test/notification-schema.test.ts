import { describe, expect, it } from 'vitest';
import { CALL_NOTIFICATION_SCHEMA, parseCallNotification, ValidationError, type Issue } from '../src/index.js';

const NOW = Date.parse('2024-05-01T10:00:00.000Z');

/** A notification using every object of the schema, so each field can be varied in place. */
const full = () => ({
  id: 'n-1',
  type: 'incoming_call',
  tenant: 'acme',
  recipient: 'alice',
  bindingIds: ['b-1'],
  call: { id: 'c-1', from: { number: '1', uri: 'sip:1@x', displayName: 'B' }, to: { number: '2' } },
  missed: [{ callId: 'c-0', from: { number: '3', uri: 'sip:3@x', displayName: 'C' }, at: '2024-05-01T09:00:00Z' }],
  message: { title: 't', body: 'b' },
  customType: 'x',
  priority: 'high',
  collapseKey: 'k',
});

type Schema = {
  type?: string;
  maxLength?: number;
  enum?: readonly string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: boolean;
};

/** Every string leaf with a maxLength, and every closed object, as paths into `full()`. */
function walk(schema: Schema, path: (string | number)[], out: { strings: [string, number][]; objects: string[] }) {
  const name = path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${k}` : k), '');
  if (schema.type === 'string' && schema.maxLength !== undefined) out.strings.push([name, schema.maxLength]);
  if (schema.type === 'object' && schema.additionalProperties === false) out.objects.push(name);
  for (const [k, s] of Object.entries(schema.properties ?? {})) walk(s, [...path, k], out);
  if (schema.items) walk(schema.items, [...path, 0], out);
}

function set(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
  let node: any = target;
  for (const k of keys.slice(0, -1)) node = node[k];
  node[keys.at(-1)!] = value;
}

function issuesOf(input: unknown): Issue[] {
  try {
    parseCallNotification(input, { now: NOW });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues;
  }
}

const shape = { strings: [] as [string, number][], objects: [] as string[] };
walk(CALL_NOTIFICATION_SCHEMA as Schema, [], shape);

describe('the CallNotification schema is what parseCallNotification checks', () => {
  it('finds the leaves it walks (the walk itself is not empty)', () => {
    expect(shape.strings.map(([p]) => p)).toEqual(
      expect.arrayContaining(['id', 'recipient', 'call.from.displayName', 'missed[0].callId', 'message.body']),
    );
    expect(shape.objects).toEqual(expect.arrayContaining(['', 'call', 'call.from', 'missed[0]', 'message']));
    expect(issuesOf(full())).toEqual([]);
  });

  it.each(shape.strings)('%s: maxLength %i is accepted, one more is refused at that path', (path, max) => {
    const atMax = full();
    set(atMax, path, 'a'.repeat(max));
    expect(issuesOf(atMax)).toEqual([]);
    const over = full();
    set(over, path, 'a'.repeat(max + 1));
    expect(issuesOf(over)).toEqual([{ path, message: `must be at most ${max} characters` }]);
  });

  it.each(shape.objects)('%s: an unknown field is refused (additionalProperties: false)', (path) => {
    const input = full();
    set(input, path ? `${path}.extra` : 'extra', 1);
    expect(issuesOf(input)).toEqual([{ path: path ? `${path}.extra` : 'extra', message: 'is not a known field' }]);
  });

  it('every enum value is accepted and nothing else', () => {
    for (const type of CALL_NOTIFICATION_SCHEMA.properties.type.enum) {
      expect(issuesOf({ ...full(), type }).filter((i) => i.path === 'type')).toEqual([]);
    }
    for (const priority of CALL_NOTIFICATION_SCHEMA.properties.priority.enum) {
      expect(issuesOf({ ...full(), priority })).toEqual([]);
    }
    expect(issuesOf({ ...full(), priority: 'urgent' }).map((i) => i.path)).toEqual(['priority']);
  });

  it('the required fields of the schema are required by the parser', () => {
    for (const key of CALL_NOTIFICATION_SCHEMA.required) {
      const input: Record<string, unknown> = full();
      delete input[key];
      expect(issuesOf(input)).toContainEqual({ path: key, message: 'is required' });
    }
    for (const key of CALL_NOTIFICATION_SCHEMA.properties.call.required) {
      const input = full();
      delete (input.call as Record<string, unknown>)[key];
      expect(issuesOf(input)).toContainEqual({ path: `call.${key}`, message: 'is required' });
    }
  });

  it('the id and customType patterns are the parser patterns', () => {
    const ok = new RegExp(CALL_NOTIFICATION_SCHEMA.properties.id.pattern);
    for (const id of ['a.b:c@d+e-f_g', 'a b', 'a/b', 'ü']) {
      expect(issuesOf({ ...full(), id }).length === 0).toBe(ok.test(id));
    }
    const custom = new RegExp(CALL_NOTIFICATION_SCHEMA.properties.customType.pattern);
    for (const customType of ['exampleNotification', 'a_b', 'a-b', 'a.b']) {
      expect(issuesOf({ ...full(), customType }).length === 0).toBe(custom.test(customType));
    }
  });
});
