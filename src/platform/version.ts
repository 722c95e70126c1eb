/** The API's version, as /v1/health, /v1/info, the spec and every deployment statement name it. */
export const API_VERSION = '0.1.0';
