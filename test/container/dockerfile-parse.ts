/**
 * A small Dockerfile reader for the container test: enough of Docker's own
 * rules (comments, `\` continuations, stages, ARG/ENV substitution, the JSON
 * and shell forms) to read back what the Dockerfile of this repository says,
 * so the test runs exactly the commands and environment written there.
 */

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, ENV, ... */
  keyword: string;
  /** Everything after the keyword, continuations joined, trimmed. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  /** Index among the FROM instructions, from 0. */
  index: number;
  /** `AS name`, if given. */
  name?: string;
  /** The base image with global ARGs substituted. */
  image: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Splits the text into instructions the way Docker's parser does (default escape `\`). */
export function instructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const out: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    // Comment lines (and blank lines) are dropped, also in the middle of a continuation.
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const continues = /\\\s*$/.test(raw);
    const body = continues ? raw.replace(/\\\s*$/, '') : raw;
    if (pending) pending.parts.push(body);
    else pending = { parts: [body], line: i + 1 };
    if (continues) continue;
    const joined = pending.parts.join('').trim();
    const match = /^(\S+)\s*([\s\S]*)$/.exec(joined);
    if (match) out.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: pending.line });
    pending = undefined;
  }
  if (pending) {
    const joined = pending.parts.join('').trim();
    const match = /^(\S+)\s*([\s\S]*)$/.exec(joined);
    if (match) out.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: pending.line });
  }
  return out;
}

/** `$NAME` and `${NAME}` (also `${NAME:-default}`) from `vars`; unknown names become ''. */
export function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced, fallback, bare) => {
    const name = (braced ?? bare) as string;
    const found = vars[name];
    if (found !== undefined && found !== '') return found;
    return (fallback as string | undefined) ?? '';
  });
}

/** Shell-like words: whitespace separates, quotes group, backslash escapes. */
export function words(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} in: ${text}`);
  if (inWord) out.push(current);
  return out;
}

/** The key/value pairs of one ENV (or ARG) instruction, both `K=V K2=V2` and the old `K V` form. */
export function envPairs(args: string, vars: Record<string, string>): [string, string][] {
  const tokens = words(args);
  if (tokens.length === 0) return [];
  if (!tokens[0].includes('=')) {
    // Old form: the rest of the line is the value.
    const rest = args.trim().slice(args.trim().indexOf(tokens[0]) + tokens[0].length).trim();
    return [[tokens[0], substitute(words(rest).join(' '), vars)]];
  }
  return tokens.map((token) => {
    const eq = token.indexOf('=');
    if (eq <= 0) throw new Error(`ENV item without '=': ${token}`);
    return [token.slice(0, eq), substitute(token.slice(eq + 1), vars)] as [string, string];
  });
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'FROM') {
      const tokens = words(instruction.args).filter((t) => !t.startsWith('--'));
      const image = substitute(tokens[0] ?? '', globalArgs);
      const asIndex = tokens.findIndex((t) => t.toUpperCase() === 'AS');
      stages.push({ index: stages.length, name: asIndex >= 0 ? tokens[asIndex + 1] : undefined, image, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        for (const token of words(instruction.args)) {
          const eq = token.indexOf('=');
          if (eq < 0) globalArgs[token] = globalArgs[token] ?? '';
          else globalArgs[token.slice(0, eq)] = substitute(token.slice(eq + 1), globalArgs);
        }
      }
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** The exec form (`["a","b"]`) as given; the shell form as Docker runs it, `/bin/sh -c "..."`. */
export function commandArgv(args: string): string[] {
  const trimmed = args.trim();
  if (trimmed.startsWith('[')) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
      throw new Error(`not a JSON array of strings: ${trimmed}`);
    }
    return parsed as string[];
  }
  return ['/bin/sh', '-c', trimmed];
}

/** The environment a stage's ENV lines set before instruction `upTo` (all of them if omitted). */
export function stageEnv(file: Dockerfile, stage: Stage, upTo?: Instruction): Record<string, string> {
  // A stage built FROM an earlier stage starts with that stage's environment.
  const parent = file.stages.find((s) => s.index < stage.index && s.name !== undefined && s.name === stage.image);
  const env: Record<string, string> = parent ? stageEnv(file, parent) : {};
  for (const instruction of stage.instructions) {
    if (instruction === upTo) break;
    if (instruction.keyword === 'ENV') {
      for (const [key, value] of envPairs(instruction.args, env)) env[key] = value;
    }
  }
  return env;
}

export interface Healthcheck {
  /** `--interval=30s` and friends, without the dashes. */
  options: Record<string, string>;
  argv: string[];
}

export function parseHealthcheck(args: string): Healthcheck | 'NONE' {
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!flag) break;
    options[flag[1]] = flag[2];
    rest = rest.slice(flag[0].length);
  }
  if (/^NONE$/i.test(rest)) return 'NONE';
  const cmd = /^CMD\s+([\s\S]+)$/i.exec(rest);
  if (!cmd) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options, argv: commandArgv(cmd[1]) };
}

/** Docker duration strings (`5s`, `1m30s`, `500ms`) in milliseconds. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`not a duration: ${text}`);
  return total;
}

/** COPY/ADD: flags (`--from=build`), sources, destination. JSON form too. */
export function parseCopy(args: string): { flags: Record<string, string>; sources: string[]; dest: string } {
  const flags: Record<string, string> = {};
  let tokens = words(args);
  while (tokens.length > 0 && tokens[0].startsWith('--')) {
    const [name, value = 'true'] = tokens[0].slice(2).split(/=(.*)/s, 2);
    flags[name] = value;
    tokens = tokens.slice(1);
  }
  const rest = tokens.join(' ');
  const paths = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : tokens;
  if (paths.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { flags, sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
}

/**
 * Whether `.dockerignore` leaves `path` (relative to the context) out of the
 * build context: Go-style patterns, `**`, a pattern that matches a folder
 * covers everything in it, `!` re-includes, the last matching line wins.
 */
export function dockerignoreExcludes(ignoreText: string, path: string): boolean {
  const patterns = ignoreText
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const clean = (p: string) => p.replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.\//, '');
  const target = clean(path);
  const prefixes = target.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const line of patterns) {
    const negate = line.startsWith('!');
    const pattern = clean(negate ? line.slice(1).trim() : line);
    const source = pattern
      .split(/(\*\*\/?|\*|\?)/)
      .map((part) => {
        if (part === '**/' ) return '(?:.*/)?';
        if (part === '**') return '.*';
        if (part === '*') return '[^/]*';
        if (part === '?') return '[^/]';
        return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    const re = new RegExp(`^${source}$`);
    if (prefixes.some((p) => re.test(p))) excluded = !negate;
  }
  return excluded;
}
