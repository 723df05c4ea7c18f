import ajvCompiler from '@fastify/ajv-compiler';
import serializerCompiler from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type Factories = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type Serialize = (data: unknown) => string;
/** What both packages' factories are, whatever their declarations say: (schemas, options) => (route) => function. */
type Builder<F> = (externalSchemas: unknown, options: unknown) => (route: unknown) => F;

/**
 * Fastify's own compilers (Ajv, fast-json-stringify), each route's validator and serializer
 * compiled when that route first needs it instead of all of them at start-up. Compiling every
 * schema of every route generates and parses code for dozens of routes a deployment may never
 * serve (vendor doors, the console, the push proxy); the garbage of doing so at start-up left
 * V8's heap about 20 MB larger for the process's whole life. The first request of a route pays
 * its compilation (a few milliseconds) once.
 */
export function lazySchemaCompilers(): Factories {
  const buildValidator = ajvCompiler() as unknown as Builder<Validate>;
  const buildSerializer = serializerCompiler() as unknown as Builder<Serialize>;
  const factories: { buildValidator: Builder<Validate>; buildSerializer: Builder<Serialize> } = {
    buildValidator: (externalSchemas, options) => {
      const compile = buildValidator(externalSchemas, options);
      return (route) => {
        let validate: Validate | undefined;
        // Fastify reads `errors` off the function it called, as Ajv leaves them there.
        const lazy: Validate = (data) => {
          validate ??= compile(route);
          const valid = validate(data);
          lazy.errors = validate.errors;
          return valid;
        };
        return lazy;
      };
    },
    buildSerializer: (externalSchemas, options) => {
      const compile = buildSerializer(externalSchemas, options);
      return (route) => {
        let serialize: Serialize | undefined;
        return (data) => (serialize ??= compile(route))(data);
      };
    },
  };
  return factories as unknown as Factories;
}
