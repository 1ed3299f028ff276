import type { ErrorObject } from 'ajv';

/** sandpiper.yaml's JSON schema, compiled by scripts/schemaValidator.mjs; `errors` describes the last failure. */
export declare const validateSchema: { (data: unknown): boolean; errors?: ErrorObject[] | null };
