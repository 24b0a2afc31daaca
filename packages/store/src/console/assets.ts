/**
 * The web console's files (packages/store/console/: plain HTML, CSS and JavaScript, no
 * library, nothing fetched from elsewhere) as serve hands them out under /console/, and the
 * queries they run (queries.json, from CONSOLE_QUERIES). Read once, at first use.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CONSOLE_QUERIES } from './queries';

export interface Page {
  type: string;
  body: Buffer;
}

/** The files' folder: packages/store/console, both from src/console (jest) and dist/console. */
export const CONSOLE_DIR = path.join(__dirname, '..', '..', 'console');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=UTF-8',
  'console.js': 'text/javascript; charset=UTF-8',
  'console.css': 'text/css; charset=UTF-8',
};

let cache: Map<string, Page> | null = null;

function load(): Map<string, Page> {
  if (cache) return cache;
  const m = new Map<string, Page>();
  for (const [name, type] of Object.entries(FILES))
    m.set(name, { type, body: fs.readFileSync(path.join(CONSOLE_DIR, name)) });
  m.set('queries.json', {
    type: 'application/json; charset=UTF-8',
    body: Buffer.from(JSON.stringify(CONSOLE_QUERIES)),
  });
  cache = m;
  return m;
}

/** The page at `pathname` (`/console/`, `/console/console.js`, …), or null. */
export function consolePage(pathname: string): Page | null {
  if (pathname === '/console' || pathname === '/console/') return load().get('index.html') ?? null;
  const m = /^\/console\/([a-z.]+)$/.exec(pathname);
  return m ? (load().get(m[1]) ?? null) : null;
}

/** The text of one of the console's files (for the self-contained report). */
export function consoleFile(name: 'index.html' | 'console.js' | 'console.css'): string {
  return (load().get(name) as Page).body.toString('utf8');
}

/**
 * Headers of every console page: nothing but this origin (scripts, styles, fetches), no
 * framing, no sniffing. Styles set by the script itself (share bars, legends) are inline.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
});
