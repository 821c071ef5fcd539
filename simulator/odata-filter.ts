// The OData `$filter` subset Defender accepts on machines and machine actions: a tokenizer, a parser and an evaluator.
//
// Grammar (keywords case-insensitive, property names case-sensitive as in OData):
//   expr    := and ('or' and)*
//   and     := unary ('and' unary)*
//   unary   := 'not' unary | primary
//   primary := '(' expr ')'
//            | ('startswith' | 'endswith' | 'contains') '(' property ',' string ')'
//            | property ('eq'|'ne'|'gt'|'ge'|'lt'|'le') literal
//            | property 'in' '(' literal (',' literal)* ')'
//            | property '/' 'any' '(' variable ':' expr ')'      (a collection; `expr` names the variable)
//   literal := 'quoted string' ('' escapes a quote) | unquoted ISO datetime | number | true | false | null

export type FilterLiteral =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; value: number; text: string };

export type CompareOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterFunction = 'startswith' | 'endswith' | 'contains';

export type FilterExpr =
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { kind: 'not'; operand: FilterExpr }
  | { kind: 'compare'; op: CompareOperator; property: string; value: FilterLiteral }
  | { kind: 'in'; property: string; values: FilterLiteral[] }
  | { kind: 'function'; name: FilterFunction; property: string; value: string }
  /** `machineTags/any(tag: tag eq 'x')`: true when the body holds for some element of the collection. */
  | { kind: 'any'; property: string; variable: string; body: FilterExpr };

/** Thrown for a filter the simulator cannot parse; the message names the problem and its position. */
export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';
}

type Token =
  | { type: '(' | ')' | ',' | '/'; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'word'; value: string; pos: number };

const COMPARE_OPERATORS: readonly CompareOperator[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];
const FUNCTIONS: readonly FilterFunction[] = ['startswith', 'endswith', 'contains'];
// Unquoted datetimes (`2024-05-01T10:00:00Z`) are legal OData literals and Defender's own examples use them.
const DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?)?$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const WORD_CHAR = /[A-Za-z0-9_.:+-]/;

export function tokenizeFilter(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '(' || ch === ')' || ch === ',' || ch === '/') {
      tokens.push({ type: ch, pos: i });
      i++;
    } else if (ch === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length)
          throw new FilterSyntaxError(`unterminated string starting at position ${start}`);
        const c = text[i]!;
        if (c === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      tokens.push({ type: 'string', value, pos: start });
    } else if (WORD_CHAR.test(ch)) {
      const start = i;
      while (i < text.length && WORD_CHAR.test(text[i]!)) i++;
      tokens.push({ type: 'word', value: text.slice(start, i), pos: start });
    } else {
      throw new FilterSyntaxError(`unexpected character '${ch}' at position ${i}`);
    }
  }
  return tokens;
}

/**
 * Parses a `$filter` value. With `allowedProperties`, any other property is refused the way OData refuses
 * unknown properties, so a client typo shows up as a 400 instead of an empty result.
 */
export function parseODataFilter(text: string, allowedProperties?: readonly string[]): FilterExpr {
  const tokens = tokenizeFilter(text);
  if (tokens.length === 0) throw new FilterSyntaxError('empty filter');
  let pos = 0;

  const peek = (): Token | undefined => tokens[pos];
  const describe = (t: Token | undefined): string =>
    t === undefined
      ? 'end of filter'
      : t.type === 'word' || t.type === 'string'
        ? `'${t.value}'`
        : `'${t.type}'`;
  const fail = (expected: string): never => {
    const t = peek();
    const where = t === undefined ? '' : ` at position ${t.pos}`;
    throw new FilterSyntaxError(`expected ${expected} but found ${describe(t)}${where}`);
  };
  const isKeyword = (t: Token | undefined, word: string): boolean =>
    t?.type === 'word' && t.value.toLowerCase() === word;
  const expect = (type: '(' | ')' | ','): void => {
    if (peek()?.type !== type) fail(`'${type}'`);
    pos++;
  };
  // The range variable of the any() being parsed: inside its body it stands for one element of the collection.
  let rangeVariable: string | undefined;
  const property = (): string => {
    const t = peek();
    if (t?.type !== 'word' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(t.value)) return fail('a property name');
    if (t.value === rangeVariable) {
      pos++;
      return t.value;
    }
    if (allowedProperties && !allowedProperties.includes(t.value)) {
      throw new FilterSyntaxError(
        `could not find a property named '${t.value}' (filterable: ${allowedProperties.join(', ')})`,
      );
    }
    pos++;
    return t.value;
  };
  const literal = (): FilterLiteral => {
    const t = peek();
    if (t?.type === 'string') {
      pos++;
      return { kind: 'string', value: t.value };
    }
    if (t?.type === 'word') {
      const lower = t.value.toLowerCase();
      if (lower === 'true' || lower === 'false') {
        pos++;
        return { kind: 'boolean', value: lower === 'true' };
      }
      if (lower === 'null') {
        pos++;
        return { kind: 'null' };
      }
      if (NUMBER.test(t.value)) {
        pos++;
        return { kind: 'number', value: Number(t.value) };
      }
      if (DATETIME.test(t.value) && !Number.isNaN(Date.parse(t.value))) {
        pos++;
        return { kind: 'datetime', value: Date.parse(t.value), text: t.value };
      }
    }
    return fail('a literal (quoted string, datetime, number, true, false or null)');
  };

  const primary = (): FilterExpr => {
    const t = peek();
    if (t?.type === '(') {
      pos++;
      const inner = orExpr();
      expect(')');
      return inner;
    }
    if (t?.type === 'word' && FUNCTIONS.includes(t.value.toLowerCase() as FilterFunction)) {
      const name = t.value.toLowerCase() as FilterFunction;
      pos++;
      expect('(');
      const prop = property();
      expect(',');
      const arg = literal();
      if (arg.kind !== 'string') throw new FilterSyntaxError(`${name}() needs a quoted string argument`);
      expect(')');
      return { kind: 'function', name, property: prop, value: arg.value };
    }
    const prop = property();
    if (peek()?.type === '/') {
      pos++;
      if (!isKeyword(peek(), 'any')) fail("'any' (the only collection function Defender's examples use)");
      pos++;
      expect('(');
      // `tag:` tokenizes as one word (`:` is a word character for datetimes); `tag :` as two.
      const variableToken = peek();
      const named =
        variableToken?.type === 'word'
          ? /^([A-Za-z_][A-Za-z0-9_]*)(:?)(.*)$/.exec(variableToken.value)
          : null;
      if (!named || (named[2] === '' && named[3] !== '')) return fail('a range variable (e.g. `tag:`)');
      pos++;
      // `tag:tag` (no space) is one word too: the part after the colon is the body's first token.
      if (named[3] !== '') tokens.splice(pos, 0, { type: 'word', value: named[3]!, pos: variableToken!.pos });
      if (named[2] === '') {
        const colon = peek();
        if (colon?.type !== 'word' || colon.value !== ':') return fail("':' after the range variable");
        pos++;
      }
      if (rangeVariable !== undefined) throw new FilterSyntaxError('nested any() is not supported');
      rangeVariable = named[1]!;
      const body = orExpr();
      const variable = rangeVariable;
      rangeVariable = undefined;
      expect(')');
      return { kind: 'any', property: prop, variable, body };
    }
    const opToken = peek();
    const op = opToken?.type === 'word' ? opToken.value.toLowerCase() : '';
    if (op === 'in') {
      pos++;
      expect('(');
      const values = [literal()];
      while (peek()?.type === ',') {
        pos++;
        values.push(literal());
      }
      expect(')');
      return { kind: 'in', property: prop, values };
    }
    if (!COMPARE_OPERATORS.includes(op as CompareOperator))
      return fail('an operator (eq, ne, gt, ge, lt, le, in)');
    pos++;
    return { kind: 'compare', op: op as CompareOperator, property: prop, value: literal() };
  };
  const unary = (): FilterExpr => {
    if (isKeyword(peek(), 'not')) {
      pos++;
      return { kind: 'not', operand: unary() };
    }
    return primary();
  };
  const andExpr = (): FilterExpr => {
    let left = unary();
    while (isKeyword(peek(), 'and')) {
      pos++;
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const orExpr = (): FilterExpr => {
    let left = andExpr();
    while (isKeyword(peek(), 'or')) {
      pos++;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };

  const expr = orExpr();
  if (pos < tokens.length) fail("'and', 'or' or the end of the filter");
  return expr;
}

/**
 * Evaluates a parsed filter against a record. String comparisons ignore case (Defender matches device names
 * that way); `dateProperties` are compared as instants so `ge 2024-05-01T00:00:00Z` works on ISO strings.
 */
export function matchesFilter(
  expr: FilterExpr,
  record: Readonly<Record<string, unknown>>,
  dateProperties: readonly string[] = [],
): boolean {
  switch (expr.kind) {
    case 'and':
      return (
        matchesFilter(expr.left, record, dateProperties) && matchesFilter(expr.right, record, dateProperties)
      );
    case 'or':
      return (
        matchesFilter(expr.left, record, dateProperties) || matchesFilter(expr.right, record, dateProperties)
      );
    case 'not':
      return !matchesFilter(expr.operand, record, dateProperties);
    case 'any': {
      const items = record[expr.property];
      return (
        Array.isArray(items) &&
        items.some((item) => matchesFilter(expr.body, { [expr.variable]: item }, dateProperties))
      );
    }
    case 'in':
      return expr.values.some(
        (v) => compareValues(record[expr.property], v, dateProperties.includes(expr.property)) === 0,
      );
    case 'function': {
      const actual = record[expr.property];
      if (typeof actual !== 'string') return false;
      const a = actual.toLowerCase();
      const b = expr.value.toLowerCase();
      if (expr.name === 'startswith') return a.startsWith(b);
      if (expr.name === 'endswith') return a.endsWith(b);
      return a.includes(b);
    }
    case 'compare': {
      const order = compareValues(record[expr.property], expr.value, dateProperties.includes(expr.property));
      if (order === undefined) return expr.op === 'ne';
      switch (expr.op) {
        case 'eq':
          return order === 0;
        case 'ne':
          return order !== 0;
        case 'gt':
          return order > 0;
        case 'ge':
          return order >= 0;
        case 'lt':
          return order < 0;
        case 'le':
          return order <= 0;
      }
    }
  }
}

/** -1/0/1 like a comparator, or undefined when the two cannot be compared (type mismatch, missing value). */
function compareValues(actual: unknown, literal: FilterLiteral, isDate: boolean): number | undefined {
  if (literal.kind === 'null') return actual === null || actual === undefined ? 0 : undefined;
  if (actual === null || actual === undefined) return undefined;
  if (isDate || literal.kind === 'datetime') {
    const a = typeof actual === 'string' ? Date.parse(actual) : Number.NaN;
    const b =
      literal.kind === 'datetime'
        ? literal.value
        : literal.kind === 'string'
          ? Date.parse(literal.value)
          : Number.NaN;
    if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
    return Math.sign(a - b);
  }
  if (literal.kind === 'string' && typeof actual === 'string') {
    const a = actual.toLowerCase();
    const b = literal.value.toLowerCase();
    return a === b ? 0 : a < b ? -1 : 1;
  }
  if (literal.kind === 'number' && typeof actual === 'number') return Math.sign(actual - literal.value);
  if (literal.kind === 'boolean' && typeof actual === 'boolean')
    return actual === literal.value ? 0 : undefined;
  return undefined;
}

/**
 * ASP.NET OData's default `MaxNodeCount` (ODataValidationSettings), which Defender's `$filter` validation keeps.
 * Over it the request answers 400 before any data is read.
 */
export const MAX_FILTER_NODES = 100;

/**
 * Nodes of the parsed tree as ASP.NET OData's FilterQueryValidator counts them: one per node it visits. A comparison
 * is 4 (the operator, the property access, its range variable and the constant), a function call like
 * `startswith(p,'x')` 4, `in` 4 with its list counted once whatever its length, `and`/`or`/`not` 1 each plus their
 * operands. So 14 short names looked up as `(eq or startswith)` pairs count 139 (issue 9's figure).
 */
export function countFilterNodes(expr: FilterExpr): number {
  switch (expr.kind) {
    case 'and':
    case 'or':
      return 1 + countFilterNodes(expr.left) + countFilterNodes(expr.right);
    case 'not':
      return 1 + countFilterNodes(expr.operand);
    // The any() node and its collection's property access, then its body.
    case 'any':
      return 2 + countFilterNodes(expr.body);
    case 'compare':
    case 'function':
    case 'in':
      return 4;
  }
}

/** The ODataException text of Microsoft.AspNet.OData's validator (SRResources.MaxNodeLimitExceeded), as reported. */
export function nodeCountExceededMessage(limit: number): string {
  return `The query specified in the URI is not valid. The node count limit of '${limit}' has been exceeded. To increase the limit, set the 'MaxNodeCount' property on EnableQueryAttribute or ODataValidationSettings.`;
}

/** IIS request filtering's default `maxQueryString` (requestLimits, in bytes of the raw query string). */
export const MAX_QUERY_STRING_LENGTH = 2048;

/** What HTTP.sys/IIS send with 414: an HTML page, not Defender's JSON error. */
export const QUERY_STRING_TOO_LONG_HTML =
  '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n' +
  '<HTML><HEAD><TITLE>Request URL Too Long</TITLE>\r\n' +
  '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n' +
  '<BODY><h2>Request URL Too Long</h2>\r\n' +
  '<hr><p>HTTP Error 414. The request URL is too long.</p>\r\n' +
  '</BODY></HTML>\r\n';
