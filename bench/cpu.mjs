// CPU time of a process from /proc (Linux): user and system, its threads included. A server's CPU
// per request barely depends on what else runs on the machine, unlike its requests per second.
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name, in parentheses, may hold spaces: count the fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The pids of the processes on this machine whose command name is one of `names`. */
export function pidsNamed(...names) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (names.includes(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')))) pids.push(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/**
 * CPU time of every PostgreSQL process on this machine, by pid: the backends serving the servers
 * under load work on the same cores, and their share is part of what a request costs.
 */
export function databaseCpu() {
  const byPid = new Map();
  for (const pid of pidsNamed('postgres')) {
    try {
      byPid.set(pid, cpuSeconds(pid));
    } catch {
      // Gone meanwhile.
    }
  }
  return byPid;
}

/** CPU seconds PostgreSQL spent between two `databaseCpu()` readings (processes that ended are lost). */
export function databaseCpuBetween(before, after) {
  let seconds = 0;
  for (const [pid, now] of after) seconds += now - (before.get(pid) ?? 0);
  return seconds;
}

/**
 * Runs `load` and returns its result with the CPU time `pid` spent per answered request, and the
 * CPU time PostgreSQL spent per answered request, in µs.
 */
export async function measured(pid, load) {
  const before = cpuSeconds(pid);
  const databaseBefore = databaseCpu();
  const result = await load();
  const answered = result['2xx'] + result.non2xx;
  const perRequest = (seconds) => (answered > 0 ? (seconds * 1e6) / answered : NaN);
  return {
    ...result,
    cpuPerRequestUs: perRequest(cpuSeconds(pid) - before),
    databaseCpuPerRequestUs: perRequest(databaseCpuBetween(databaseBefore, databaseCpu())),
  };
}
