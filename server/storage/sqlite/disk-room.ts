import { statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Bytes a writer without privileges may still write on the file system that holds `file`. */
export function freeBytes(file: string): number {
  const disk = statfsSync(dirname(file));
  return disk.bavail * disk.bsize;
}

/** Bytes the WAL beside the store `file` takes on disk (0 when there is none). */
export function walBytes(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

/**
 * Whether the store's WAL should be folded into the database file now,
 * ahead of SQLite's own checkpoint (every ~40 MB of WAL, see database.ts).
 *
 * Folding needs room: the database file grows to take the WAL's new pages.
 * A WAL left to grow on a disk with less free room than that fills the disk
 * by itself, and then it can no longer be folded: the store stays full of
 * its own WAL, every write refused, whatever else on the disk is freed (an
 * 8 MiB disk filled so after 128 puts and gets of one 32 KiB item). Kept under
 * half the room left, it can always be folded, and the disk is full only
 * when the data fills it.
 */
export function walOutgrowsRoom(file: string): boolean {
  const wal = walBytes(file);
  return wal > 0 && wal * 2 > freeBytes(file);
}
