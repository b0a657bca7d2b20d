import type { GraphContext } from './context.ts';
import type { Node } from './node.ts';
import type { FilenamesOptions, SinkToFileOptions, TextFileOptions } from './nodes/files.ts';
import type { SourceNode } from './nodes/source.ts';

/**
 * The file operators need Node's file system, which sluice/stream must not
 * import (it runs in browsers too). Node's entry point (stream/node-index.ts,
 * what `sluice/stream` resolves to under Node) installs them here.
 */
export interface FileOperators {
  sinkToFile(upstream: Node, path: string, options?: SinkToFileOptions): Node;
  fromTextFile(path: string, context: GraphContext, options?: TextFileOptions): SourceNode & { position: number };
  filenames(dir: string, context: GraphContext, options?: FilenamesOptions): SourceNode;
}

let installed: FileOperators | undefined;

export function installFileOperators(operators: FileOperators): void {
  installed = operators;
}

export function fileOperators(operator: string): FileOperators {
  if (!installed) {
    throw new Error(`${operator} needs Node's file system: import { Stream } from 'sluice/stream' in Node (stream/node-index.ts), not from the browser build`);
  }
  return installed;
}
