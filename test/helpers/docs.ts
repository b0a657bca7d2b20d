// The README and the pages under docs/, read as the tests that check them need:
// the examples they mark to be run, their links, their headings' anchors.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './processes.ts';

/** README.md and every docs/*.md, as paths relative to the repository's root. */
export function docFiles(): string[] {
  const pages = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...pages];
}

export function readDoc(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

/** The marker that asks a test to run the code block after it: `<!-- doc-test: sh -->`, `<!-- doc-test: example examples/x.ts -->`. */
export const MARKER = 'doc-test';

export interface MarkedBlock {
  /** The page it is on. */
  file: string;
  /** What follows `doc-test:` in the marker. */
  marker: string;
  code: string;
}

/** Code blocks that follow a `<!-- doc-test: ... -->` marker, page by page, in order. */
export function markedBlocks(files = docFiles()): MarkedBlock[] {
  const blocks: MarkedBlock[] = [];
  const pattern = new RegExp(`<!-- ${MARKER}: ([^>]+?) -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``, 'g');
  for (const file of files) {
    for (const match of readDoc(file).matchAll(pattern)) blocks.push({ file, marker: match[1], code: match[2] });
  }
  return blocks;
}

/** The text with fenced code blocks and inline code blanked out (links and headings there are not links or headings). */
export function withoutCode(text: string): string {
  return text
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/`[^`\n]*`/g, (code) => ' '.repeat(code.length));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const prose = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of prose.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const slug = match[1]
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const match of text.matchAll(/<a (?:name|id)="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** Every link of the page: inline `[text](target)`, images, and reference definitions `[label]: target`. */
export function linksOf(file: string): Link[] {
  const text = withoutCode(readDoc(file));
  const links: Link[] = [];
  const lineOf = (index: number): number => text.slice(0, index).split('\n').length;
  for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    links.push({ file, line: lineOf(match.index), target: match[1] });
  }
  for (const match of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) {
    links.push({ file, line: lineOf(match.index), target: match[1] });
  }
  for (const match of text.matchAll(/<a\s[^>]*href="([^"]+)"/g)) links.push({ file, line: lineOf(match.index), target: match[1] });
  return links;
}
