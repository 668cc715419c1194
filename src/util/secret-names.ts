/**
 * Names (env variables, config keys) whose values are secret: `*PASSWORD*`, `*SECRET*`, `*TOKEN*`,
 * `*_KEY`, ... Down here so the redactor (src/util/redact.ts) can mask such keys without importing
 * the secret model (src/secrets/model.ts), which builds on it. Pure.
 */
export const SECRET_KEY = /(pass(word|wd|phrase)?$|password|passwd|secret|token|(^|_)key$|api_?key|private_?key|credential|(^|_)auth$)/i;

/** Secret values shorter than this cannot be told from ordinary text: refused where secrets are taken. */
export const MIN_SECRET_LENGTH = 3;
