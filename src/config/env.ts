/**
 * The one parser of settings from the environment. Every REALER_* variable,
 * and every stream-limit flag, is read through it, so a value of the wrong
 * form always fails the same way: REALER_ERR_CONFIG_INVALID naming the
 * variable and what it expects. An unset or empty variable is "not set": the
 * fallback applies.
 */
import { ConfigInvalid } from "../errors.js";

/** Variables by name, as in `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * `raw` as a whole number >= `min`; `name` (a variable or a flag) is named in
 * the error, followed by `note`.
 */
export function parseInteger(name: string, raw: string, min: number, note = ""): number {
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min)
    throw new ConfigInvalid(`${name}=${raw}: expected an integer >= ${min}${note}`);
  return v;
}

export class EnvReader {
  readonly #env: Env;

  constructor(env: Env) {
    this.#env = env;
  }

  /** The variable's value, or undefined when it is unset or empty. */
  raw(name: string): string | undefined {
    const v = this.#env[name];
    return v === undefined || v === "" ? undefined : v;
  }

  string<F extends string | undefined>(name: string, fallback: F): string | F {
    return this.raw(name) ?? fallback;
  }

  /** A whole number >= `min` (0 by default). */
  int<F extends number | undefined>(name: string, fallback: F, min = 0): number | F {
    const raw = this.raw(name);
    return raw === undefined ? fallback : parseInteger(name, raw, min);
  }

  /** A comma-separated list; blanks around items and empty items are dropped. */
  list(name: string, fallback: string[]): string[] {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /**
   * A JSON value that `check` accepts (it returns why not, or undefined);
   * `example` shows the expected form in the error.
   */
  json<T>(name: string, fallback: T, check: (v: unknown) => string | undefined, example: string): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const bad = (why: string) => new ConfigInvalid(`${name}: ${why}; expected e.g. ${example}`);
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw bad(`not JSON (${(err as Error).message})`);
    }
    const why = check(v);
    if (why !== undefined) throw bad(why);
    return v as T;
  }
}
