/**
 * Validates openapi.yaml as generators read it: swagger-parser dereferences
 * and checks it against the OpenAPI 3.1 schema (Redocly and Spectral lint it
 * separately in `npm test`).
 */
import SwaggerParser from '@apidevtools/swagger-parser';

const api = await SwaggerParser.validate(new URL('../openapi.yaml', import.meta.url).pathname);
console.log(`openapi.yaml is valid OpenAPI ${'openapi' in api ? api.openapi : ''} (swagger-parser): ${Object.keys(api.paths ?? {}).length} paths.`);
