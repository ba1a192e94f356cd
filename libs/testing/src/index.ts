export { AppProcess, entryPoint, runCli, runToCompletion } from './app-process';
export type { AppName, CliResult, LogLine } from './app-process';
export { errorShapeProblem } from './error-shape';
export { HttpClient } from './http-client';
export type { HttpResponse, RequestOptions } from './http-client';
export { sampleDocument } from './sample-documents';
export { TestDatabase } from './test-database';
export { TestStack, freePort } from './test-stack';
export type { StackOptions } from './test-stack';
export { sleep, waitFor } from './wait-for';
export { TcpProxy } from './tcp-proxy';
export { declaredMetrics, parseMetrics, scrape, valueOf } from './metrics-scrape';
export type { Sample } from './metrics-scrape';
export { FakeLlmServer, fakeTokenCount } from './fake-llm/fake-llm.server';
export type {
  FakeLlmCall,
  FakeLlmErrorStatus,
  FakeLlmFault,
  FakeLlmFaultMatch,
  FakeLlmInjection,
  FakeLlmMessage,
  FakeLlmOptions,
  FakeLlmRequest,
  FakeLlmResponder,
} from './fake-llm/fake-llm.types';
export { installResearchResponders } from './research-llm.responders';
export { TestConfigModule } from './test-config.module';
export { hostileRequests, operationsOf, validSample } from './fuzz/hostile-requests';
export type { FuzzOptions, HostileRequest, OpenApiDocument, Operation } from './fuzz/hostile-requests';
export { exchange, socketExchange } from './fuzz/raw-http';
export type { HttpExchange, RawResponse } from './fuzz/raw-http';
export { FaultServers } from './faults/fault-servers';
export { PostgresCluster } from './faults/postgres-cluster';
export type { PostgresStopMode } from './faults/postgres-cluster';
export { RedisProcess } from './faults/redis-process';
export { describeOutcome, settleResearches } from './faults/research-invariants';
export type { OutcomeExpectation, OutcomeReport } from './faults/research-invariants';
export { SubmissionLoad } from './faults/submission-load';
export type { SubmissionAttempt, SubmissionLoadOptions } from './faults/submission-load';
export { injectFaultMix } from './faults/llm-fault-mix';
export type { LlmFaultMix } from './faults/llm-fault-mix';
export { addFaultCorpus, faultQuestion } from './faults/fault-corpus';
export { ScriptedHttpServer, jsonAnswer, silentAnswer, statusAnswer } from './fake-search/scripted-http-server';
export type { ScriptedAnswer, SeenRequest } from './fake-search/scripted-http-server';
export { FakeWeb } from './fake-search/fake-web';
export type { PageHandler, SearxngResult } from './fake-search/fake-web';
export { samplePdf } from './sample-pdf';
