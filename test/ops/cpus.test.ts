/**
 * The default of WORKERS: the CPUs this process may use, the smaller of the
 * affinity mask (os.availableParallelism) and the cgroup CPU quota, read from
 * fixture strings in the formats the kernel writes.
 */
import { describe, expect, it } from 'vitest';
import { availableCpus, cgroupCpuLimit, cpusFromCpuMax, cpusFromQuota } from '../../src/cpus.js';

const files = (entries: Record<string, string>) => (path: string) => entries[path];

describe('cgroup v2 cpu.max', () => {
  it.each([
    ['max 100000\n', undefined], // no quota
    ['max', undefined],
    ['200000 100000\n', 2], // docker run --cpus=2
    ['400000 100000', 4],
    ['150000 100000', 1], // 1.5 CPUs: one worker busy all the time, not two throttled
    ['50000 100000', 1], // half a CPU: still one worker
    ['250000 50000', 5], // another period
    ['1000 100000', 1],
    ['100000', 1], // period omitted: the kernel's default, 100000
    ['', undefined],
    ['garbage here', undefined],
    ['-1 100000', undefined],
    ['0 100000', undefined],
  ])('%j → %s', (text, cpus) => {
    expect(cpusFromCpuMax(text)).toBe(cpus);
  });
});

describe('cgroup v1 quota and period', () => {
  it.each([
    [-1, 100000, undefined],
    [300000, 100000, 3],
    [100000, 0, undefined],
    [Number.NaN, 100000, undefined],
  ])('%s / %s → %s', (quota, period, cpus) => {
    expect(cpusFromQuota(quota, period)).toBe(cpus);
  });

  it('reads cpu.cfs_quota_us and cpu.cfs_period_us when there is no cpu.max', () => {
    const read = files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '300000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' });
    expect(cgroupCpuLimit(read)).toBe(3);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBeUndefined();
  });

  it('prefers cgroup v2 when both are there', () => {
    const read = files({ '/sys/fs/cgroup/cpu.max': '100000 100000', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '800000' , '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' });
    expect(cgroupCpuLimit(read)).toBe(1);
  });
});

describe('availableCpus', () => {
  it('takes the smaller of the affinity mask and the quota', () => {
    expect(availableCpus({ parallelism: 64, read: files({ '/sys/fs/cgroup/cpu.max': '200000 100000' }) })).toBe(2);
    expect(availableCpus({ parallelism: 2, read: files({ '/sys/fs/cgroup/cpu.max': '800000 100000' }) })).toBe(2);
    expect(availableCpus({ parallelism: 8, read: files({ '/sys/fs/cgroup/cpu.max': 'max 100000' }) })).toBe(8);
    expect(availableCpus({ parallelism: 8, read: files({}) })).toBe(8);
    expect(availableCpus({ parallelism: 8, read: files({ '/sys/fs/cgroup/cpu.max': '20000 100000' }) })).toBe(1);
  });

  it('on this machine: at least 1 and at most os.availableParallelism()', async () => {
    const { availableParallelism } = await import('node:os');
    const cpus = availableCpus();
    expect(cpus).toBeGreaterThanOrEqual(1);
    expect(cpus).toBeLessThanOrEqual(availableParallelism());
  });
});
