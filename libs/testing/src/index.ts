export { AppProcess, entryPoint, runCli } from './app-process';
export type { AppName, CliResult, LogLine } from './app-process';
export { HttpClient } from './http-client';
export type { HttpResponse, RequestOptions } from './http-client';
export { TestDatabase } from './test-database';
export { TestStack, freePort } from './test-stack';
export type { StackOptions } from './test-stack';
export { sleep, waitFor } from './wait-for';
