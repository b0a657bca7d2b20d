/**
 * `sluice/stream` in Node: the same library, with the file operators
 * (sinkToFile, fromTextFile, filenames) installed (package.json picks this
 * file under the "node" condition; browsers get index.ts).
 */
import { installFileOperators } from './file-operators.ts';
import { FileSinkNode, FilenamesSource, TextFileSource } from './nodes/files.ts';

installFileOperators({
  sinkToFile: (upstream, path, options) => new FileSinkNode(upstream, path, options),
  fromTextFile: (path, context, options) => new TextFileSource(path, context, options),
  filenames: (dir, context, options) => new FilenamesSource(dir, context, options),
});

export * from './index.ts';
export type { FilenamesOptions, SinkToFileOptions, TextFileOptions } from './nodes/files.ts';
