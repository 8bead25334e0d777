/**
 * Every HTTP refusal carries one of our codes: fastify's own errors
 * (validation, body size, content type) are mapped onto the catalogue.
 */
import type { FastifyError, FastifyInstance } from "fastify";
import {
  BadRequest,
  codeOf,
  httpStatusOf,
  Internal,
  PayloadTooLarge,
  UnsupportedMediaType,
} from "../errors.js";

export function toHttpError(err: FastifyError): { statusCode: number; code: string; message: string } {
  if (codeOf(err)) return { statusCode: httpStatusOf(err), code: err.code, message: err.message };
  if (
    err.validation ||
    err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" ||
    err.code === "FST_ERR_CTP_INVALID_JSON_BODY" ||
    err.statusCode === 400
  ) {
    const e = new BadRequest(err.message);
    return { statusCode: 400, code: e.code, message: e.message };
  }
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const e = new PayloadTooLarge("the limit");
    return { statusCode: 413, code: e.code, message: e.message };
  }
  if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    const e = new UnsupportedMediaType("of this request");
    return { statusCode: 415, code: e.code, message: e.message };
  }
  const e = new Internal();
  return { statusCode: 500, code: e.code, message: e.message };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const h = toHttpError(err);
    if (h.statusCode >= 500) req.log.error({ err }, "request failed");
    reply.code(h.statusCode).send({ statusCode: h.statusCode, code: h.code, message: h.message });
  });
}
