import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Deep Research Service')
    .setDescription(
      'Submit research questions, follow their progress and read cited reports. Every error has the shape ' +
        '`{"error": {"code", "message", "details"}, "request_id"}`; send `X-Request-Id` to choose the request id.',
    )
    .setVersion('1')
    .addTag('research', 'Research questions and their reports')
    .addTag('documents', 'The corpus the research engine searches')
    .addTag('health', 'Liveness and readiness probes')
    .addTag('admin', 'API keys (scope `admin`)')
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
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}
