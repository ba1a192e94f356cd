// CPU time of a process from /proc (Linux): user and system, its threads included. A server's CPU
// per request barely depends on what else runs on the machine, unlike its requests per second.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name, in parentheses, may hold spaces: count the fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Runs `load` and returns its result with the CPU time `pid` spent per answered request, in µs. */
export async function measured(pid, load) {
  const before = cpuSeconds(pid);
  const result = await load();
  const answered = result['2xx'] + result.non2xx;
  return { ...result, cpuPerRequestUs: answered > 0 ? ((cpuSeconds(pid) - before) * 1e6) / answered : NaN };
}
