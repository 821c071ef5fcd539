// Checks a runliveresponse body the way Defender does: case-sensitive keys, known command types and parameters,
// the PutFile → RunScript → GetFile order, library files that exist, and the argument characters Defender refuses.
import type { CommandParam, LibraryFile, LiveResponseCommandType, WireCommand } from '../defender/types.js';

export interface ValidationFailure {
  code: 'InvalidRequestBody' | 'MissingRequiredParameter';
  message: string;
}

export type ValidationResult =
  | { ok: true; commands: WireCommand[]; comment: string }
  | ({ ok: false } & ValidationFailure);

/** Keys each command type accepts, and which of them it needs. */
const PARAMETERS: Record<
  LiveResponseCommandType,
  { required: CommandParam['key']; optional: CommandParam['key'][] }
> = {
  RunScript: { required: 'ScriptName', optional: ['Args'] },
  GetFile: { required: 'Path', optional: [] },
  PutFile: { required: 'FileName', optional: [] },
};

/**
 * "Allowed values are PutFile, RunScript, GetFile (must be in this order with no limit on repetitions)"
 * (Microsoft Learn, Run live response commands on a device). The page names no error for another order; a body
 * Defender does not accept is `400 InvalidRequestBody` ("Invalid request body", Microsoft Learn, Common Defender
 * for Endpoint API errors), so that is what an out-of-order body gets.
 */
const COMMAND_ORDER: readonly LiveResponseCommandType[] = ['PutFile', 'RunScript', 'GetFile'];

/** Characters Defender refuses in script arguments. */
export const FORBIDDEN_ARG_CHARACTERS = [';', '&', '|', '!', '$', '(', ')'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function validateRunLiveResponseBody(
  body: unknown,
  library: readonly LibraryFile[],
): ValidationResult {
  const invalid = (message: string): ValidationResult => ({ ok: false, code: 'InvalidRequestBody', message });
  const missing = (name: string, where: string): ValidationResult => ({
    ok: false,
    code: 'MissingRequiredParameter',
    message: `Missing required parameter '${name}'${where}`,
  });

  if (!isRecord(body)) return invalid('The request body must be a JSON object');
  if (!('Commands' in body)) return missing('Commands', ' (keys are case-sensitive)');
  const rawCommands = body.Commands;
  if (!Array.isArray(rawCommands) || rawCommands.length === 0) {
    return invalid("'Commands' must be a non-empty array");
  }
  if ('Comment' in body && body.Comment !== null && typeof body.Comment !== 'string') {
    return invalid("'Comment' must be a string");
  }
  const inLibrary = (name: string): boolean =>
    library.some((f) => f.fileName.toLowerCase() === name.toLowerCase());

  const commands: WireCommand[] = [];
  for (const [index, raw] of rawCommands.entries()) {
    const where = ` in command ${index}`;
    if (!isRecord(raw)) return invalid(`Command ${index} must be an object`);
    if (!('type' in raw)) return missing('type', where);
    const type = raw.type;
    if (type !== 'RunScript' && type !== 'GetFile' && type !== 'PutFile') {
      return invalid(
        `Command ${index} has an unknown type '${String(type)}' (allowed: PutFile, RunScript, GetFile)`,
      );
    }
    if (!('params' in raw)) return missing('params', where);
    if (!Array.isArray(raw.params)) return invalid(`'params'${where} must be an array`);

    const spec = PARAMETERS[type];
    const params: CommandParam[] = [];
    for (const p of raw.params) {
      if (!isRecord(p) || typeof p.key !== 'string' || typeof p.value !== 'string') {
        return invalid(`Every parameter${where} must be {"key": string, "value": string}`);
      }
      const key = p.key;
      if (key !== spec.required && !spec.optional.includes(key as CommandParam['key'])) {
        return invalid(`Parameter '${key}' is not valid for ${type}${where}`);
      }
      if (params.some((q) => q.key === key)) return invalid(`Parameter '${key}' appears twice${where}`);
      params.push({ key: key as CommandParam['key'], value: p.value });
    }

    const required = params.find((p) => p.key === spec.required);
    if (!required || required.value.trim() === '') return missing(spec.required, where);
    if ((type === 'RunScript' || type === 'PutFile') && !inLibrary(required.value)) {
      return invalid(`'${required.value}'${where} is not in the live response library`);
    }
    const args = params.find((p) => p.key === 'Args');
    if (args) {
      const bad = FORBIDDEN_ARG_CHARACTERS.filter((c) => args.value.includes(c));
      if (bad.length > 0) {
        return invalid(`Args${where} contain characters that are not allowed: ${bad.join(' ')}`);
      }
    }
    const previous = commands[commands.length - 1];
    if (previous && COMMAND_ORDER.indexOf(type) < COMMAND_ORDER.indexOf(previous.type)) {
      return invalid(
        `Command ${index} (${type}) comes after command ${index - 1} (${previous.type}); Commands must be in the order PutFile, RunScript, GetFile`,
      );
    }
    commands.push({ type, params });
  }
  const comment = typeof body.Comment === 'string' ? body.Comment : '';
  return { ok: true, commands, comment };
}
