// A large modprobe.d tree for the showconfig benchmark: FILES files with LINES
// lines in all, spread over the five directories kmod reads, with the kinds of
// lines real systems have (blacklist, alias, options, install, remove, softdep,
// comments, continuations) and with basenames shared between directories, so
// that masking and the merge by basename do real work. Deterministic: the same
// counts give the same tree byte for byte.

import * as fs from "node:fs";
import * as path from "node:path";
import { MODPROBE_DIRS } from "../src/kmod/config-files.ts";

export interface LargeTree {
  files: number;
  lines: number;
}

/** Share of files per directory, in MODPROBE_DIRS order (etc, run, usr/local/lib, usr/lib, lib). */
const DIR_WEIGHTS = [0.3, 0.05, 0.05, 0.45, 0.15];

function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WORDS = ["snd", "usb", "hid", "net", "ata", "scsi", "drm", "i2c", "nvme", "virtio", "btrfs", "xfs", "fat", "jfs", "ufs", "hfs"];

function line(random: () => number, n: number): string {
  const word = WORDS[Math.floor(random() * WORDS.length)]!;
  const module = `${word}${random() < 0.5 ? "-" : "_"}m${n % 997}`;
  const pick = random();
  if (pick < 0.25) return `blacklist ${module}`;
  if (pick < 0.45) return `alias ${random() < 0.3 ? `pci:v0000${(n % 9999).toString(16)}d*sv*sd*bc*sc*i*` : `fs-${word}${n % 101}`} ${module}`;
  if (pick < 0.6) return `options ${module} param${n % 7}=${n} debug=${n % 2}`;
  if (pick < 0.68) return `install ${module} /sbin/modprobe --ignore-install ${module} $CMDLINE_OPTS`;
  if (pick < 0.72) return `remove ${module} /sbin/modprobe -r --ignore-remove ${module}`;
  if (pick < 0.8) return `softdep ${module} pre: ${word}_core post: ${word}_extra`;
  if (pick < 0.9) return `# ${module}: kept for hardware that ${n % 3 === 0 ? "is rare" : "some users still have"}`;
  if (pick < 0.95) return "";
  return `options ${module} \\\n  long_param=${n}`;
}

/** Writes the tree under `root` (which must not exist or be empty); returns what it wrote. */
export function writeLargeTree(root: string, files = 5000, lines = 50_000): LargeTree {
  const random = lcg(files * 31 + lines);
  const perFile = Math.floor(lines / files);
  let written = 0;
  let lineCount = 0;
  for (const [d, dir] of MODPROBE_DIRS.entries()) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
    const count = d === MODPROBE_DIRS.length - 1 ? files - written : Math.round(files * DIR_WEIGHTS[d]!);
    for (let i = 0; i < count; i++) {
      // About one name in five also exists in another directory and masks it or is masked.
      const shared = random() < 0.2;
      const name = shared ? `${40 + (i % 50)}-shared-${i % 400}.conf` : `${10 + (written % 89)}-${dir.split("/")[0]}-${written}.conf`;
      const body: string[] = [];
      const wanted = written === files - 1 ? lines - lineCount : perFile;
      let physical = 0;
      for (let n = 0; physical < wanted; n++) {
        const text = line(random, written * perFile + n);
        const height = text.split("\n").length;
        if (physical + height > wanted) {
          body.push(`blacklist filler_${written}_${n}`);
          physical++;
          continue;
        }
        body.push(text);
        physical += height;
      }
      const target = path.join(root, dir, name);
      // A shared name that this directory already has: skip it, keep the counts exact.
      if (fs.existsSync(target)) {
        i--;
        continue;
      }
      fs.writeFileSync(target, body.join("\n") + "\n");
      lineCount += physical;
      written++;
    }
  }
  return { files: written, lines: lineCount };
}
