import { ERROR_DETAILS_RULE } from '@app/http';
import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export const DOCS_PATH = '/docs';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Deep Research Service')
    .setDescription(
      'Submit research questions, follow their progress and read cited reports. Every error has the shape ' +
        '`{"error": {"code", "message", "details"}, "request_id"}`; send `X-Request-Id` to choose the request id. ' +
        `\`details\`: ${ERROR_DETAILS_RULE} A known path asked with a method it does not serve answers 405 ` +
        '`method_not_allowed` with an `Allow` header; an unknown path answers 404 `route_not_found`.',
    )
    .setVersion('1')
    .addTag('research', 'Research questions and their reports')
    .addTag('documents', 'The corpus the research engine searches')
    .addTag('health', 'Liveness and readiness probes')
    .addTag('admin', 'API keys (scope `admin`)')
    .addTag('audit', 'The audit trail: who did what, and whether the record holds (scope `audit:read`)')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer drs_...`' },
      BEARER,
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same key, in its own header' },
      API_KEY,
    )
    .build();
  return withSecurity(SwaggerModule.createDocument(app, config));
}

const BEARER = 'bearer';
const API_KEY = 'api_key';
const PUBLIC_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * Every operation says how to authenticate: a key as a bearer token or in X-API-Key, except the
 * probes and metrics, which are public.
 */
function withSecurity(document: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const operation of Object.values(item) as { security?: unknown[] }[]) {
      if (typeof operation !== 'object' || operation === null) continue;
      operation.security = PUBLIC_PATHS.has(path) ? [] : [{ [BEARER]: [] }, { [API_KEY]: [] }];
    }
  }
  return document;
}

/** Swagger UI at /docs and the document at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH.slice(1), app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: `${DOCS_PATH.slice(1)}-json`,
    yamlDocumentUrl: `${DOCS_PATH.slice(1)}-yaml`,
  });
}
