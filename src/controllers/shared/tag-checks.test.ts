import { describe, expect, it } from 'vitest';
import { ownershipTags } from '../../aws/ownership.ts';
import { TAG_RECHECK_MS, TagChecks } from './tag-checks.ts';

const object = (generation: number, uid = 'u-1') => ({
  metadata: { namespace: 'shop', name: 'orders', uid, generation },
});
const owner = { cluster: 'prod', namespace: 'shop', name: 'orders', uid: 'u-1' };

describe('TagChecks', () => {
  it('offers no claim before the tags were read and brought to spec in this process', () => {
    const checks = new TagChecks(() => 0);
    expect(checks.claimFor(object(1), 'prod', { team: 'orders' }, false)).toBeUndefined();
  });

  it("offers the spec's tags with the ownership tags once they were, within the recheck period", () => {
    let now = 1_000;
    const checks = new TagChecks(() => now);
    checks.checkedNow(object(1));
    expect(checks.claimFor(object(1), 'prod', { team: 'orders' }, false)).toEqual({
      owner,
      tags: { team: 'orders', ...ownershipTags(owner) },
    });
    now += TAG_RECHECK_MS - 1;
    expect(checks.claimFor(object(1), 'prod', { team: 'orders' }, false)).toBeDefined();
    now += 1;
    expect(checks.claimFor(object(1), 'prod', { team: 'orders' }, false)).toBeUndefined();
  });

  it('reads again for a new generation, another object of the name, an adoption, and once forgotten', () => {
    const checks = new TagChecks(() => 0);
    checks.checkedNow(object(1));
    expect(checks.claimFor(object(2), 'prod', {}, false)).toBeUndefined();
    expect(checks.claimFor(object(1, 'u-2'), 'prod', {}, false)).toBeUndefined();
    expect(checks.claimFor(object(1), 'prod', {}, true)).toBeUndefined();
    expect(checks.claimFor(object(1), 'prod', {}, false)).toBeDefined();
    checks.forget({ namespace: 'shop', name: 'orders' });
    expect(checks.claimFor(object(1), 'prod', {}, false)).toBeUndefined();
    expect(checks.size()).toBe(0);
  });
});
