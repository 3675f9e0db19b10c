/**
 * How many CPUs this process may really use, for the default of WORKERS.
 *
 * os.availableParallelism() follows the CPU affinity mask (cpusets, `docker
 * run --cpuset-cpus`), but not a CFS quota (`docker run --cpus=2`, a
 * Kubernetes CPU limit): a container limited to 2 CPUs on a 64-core node
 * would start 64 workers and be throttled. The quota is in
 * /sys/fs/cgroup/cpu.max (cgroup v2: "<quota> <period>" or "max <period>")
 * or cpu.cfs_quota_us / cpu.cfs_period_us (cgroup v1, quota -1 for none).
 * The answer is the smaller of the two, rounded down, and at least 1.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** CPUs allowed by a cgroup v2 `cpu.max` line; undefined for no limit or an unreadable line. */
export function cpusFromCpuMax(text: string): number | undefined {
  const [quota, period = '100000'] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  return cpusFromQuota(Number(quota), Number(period));
}

/** CPUs allowed by a CFS quota and period in microseconds (cgroup v1 uses -1 for no limit). */
export function cpusFromQuota(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  // Rounded down: a fractional CPU cannot keep one more worker thread busy without being throttled.
  return Math.max(1, Math.floor(quota / period));
}

export interface CpuSources {
  /** os.availableParallelism(), or a stand-in in tests. */
  parallelism: number;
  /** Reads a file and returns its text, or undefined when it does not exist. */
  read: (path: string) => string | undefined;
}

const readIfPresent = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The CPU quota of this process's cgroup (v2, else v1), if any. */
export function cgroupCpuLimit(read: CpuSources['read'] = readIfPresent): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max');
  if (v2 !== undefined) return cpusFromCpuMax(v2);
  const quota = read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us');
  const period = read('/sys/fs/cgroup/cpu/cpu.cfs_period_us');
  if (quota === undefined || period === undefined) return undefined;
  return cpusFromQuota(Number(quota.trim()), Number(period.trim()));
}

/** min(availableParallelism, cgroup CPU quota), at least 1. */
export function availableCpus(sources: Partial<CpuSources> = {}): number {
  const parallelism = sources.parallelism ?? availableParallelism();
  const limit = cgroupCpuLimit(sources.read ?? readIfPresent);
  return Math.max(1, Math.min(parallelism, limit ?? parallelism));
}
