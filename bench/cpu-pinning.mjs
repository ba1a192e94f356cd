// BENCH_SERVER_CPUS=<cpu list>, for example 1: the servers under test run on those CPUs only, and
// this bench (the load generator), PostgreSQL and Redis on the others, as in production, where
// the api has its CPU and its clients and databases are elsewhere. On a 2-core machine with all of
// them on both cores, a server's tail follows what else runs at that moment, and a server that
// spends more CPU per request meets it more often. Every server of a run is pinned alike.
// PostgreSQL's and Redis's processes are moved back onto every CPU when the bench exits.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { pidsNamed } from './cpu.mjs';

const serverCpus = process.env.BENCH_SERVER_CPUS || undefined;

/** A CPU list as taskset reads it (`0`, `0-1`, `0,2`), as CPU numbers. */
function cpusOf(list) {
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** Sets the CPUs of every thread of `pid`; false if it is gone. */
function pin(pid, cpus) {
  return spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' }).status === 0;
}

/** PostgreSQL's processes (its later backends inherit the postmaster's CPUs) and Redis's. */
const servicePids = () => pidsNamed('postgres', 'redis-server');

/** With BENCH_SERVER_CPUS, moves this process, PostgreSQL and Redis onto the other CPUs until exit. */
export function pinLoadAndServices() {
  if (!serverCpus) return;
  const all = Array.from({ length: availableParallelism() }, (_, i) => i);
  const reserved = new Set(cpusOf(serverCpus));
  const others = all.filter((cpu) => !reserved.has(cpu));
  if (others.length === 0 || [...reserved].some((cpu) => cpu >= all.length)) {
    throw new Error(`BENCH_SERVER_CPUS=${serverCpus} leaves no CPU of ${all.length} for the rest`);
  }
  const rest = others.join(',');
  const services = servicePids().filter((pid) => pin(pid, rest));
  pin(process.pid, rest);
  console.log(
    `servers on CPU ${serverCpus}; this bench and ${services.length} PostgreSQL and Redis processes on CPU ${rest}`,
  );
  process.on('exit', () => {
    for (const pid of servicePids()) pin(pid, `0-${all.length - 1}`);
  });
  // Interrupted, it still puts them back.
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
}

/** Starts `node <args>`, on BENCH_SERVER_CPUS when set; the child's pid is the server's. */
export function spawnServer(args, options) {
  // taskset replaces itself with node: the pid stays the server's.
  return serverCpus
    ? spawn('taskset', ['-c', serverCpus, process.execPath, ...args], options)
    : spawn(process.execPath, args, options);
}
