// The initramfs benchmark's image: about 60 MB on disk, zstd-compressed the way
// initramfs-tools compresses it (`zstd -q -1 -T0`), holding a real kernel's
// module tree (the files themselves, so the compressor and the cpio reader see
// real data) and the shipped policy's fragments in usr/lib/modprobe.d. Built
// once and cached in /var/cache/fsblacklist-test/bench ($FSBLACKLIST_TEST_CACHE)
// when that is writable, else in the run's scratch directory.
//
// Module files, first found: $FSB_BENCH_INITRAMFS_MODULES (a lib/modules/<release>
// directory), $FSB_FULL_KERNEL (scripts/full-kernel.sh's output), the cached full
// kernel of the tests, /lib/modules/`uname -r`.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const CACHE = process.env["FSBLACKLIST_TEST_CACHE"] ?? "/var/cache/fsblacklist-test";
const POLICY = fileURLToPath(new URL("../blacklist.d", import.meta.url));
/** The image's size on disk to aim for. */
const TARGET = 60 * 1024 * 1024;
/** Bump when the recipe changes, so that a cached image of an older recipe is not measured. */
const RECIPE = 1;

export interface BenchImage {
  file: string;
  /** Kernel release of the modules inside. */
  release: string;
  bytes: number;
  payloadBytes: number;
  files: number;
}

function moduleSource(): string | null {
  const candidates = [
    process.env["FSB_BENCH_INITRAMFS_MODULES"],
    process.env["FSB_FULL_KERNEL"],
    ...listDirs(path.join(CACHE, "full-kernel")).flatMap((pkg) => listDirs(path.join(pkg, "lib/modules"))),
    path.join("/lib/modules", os.release()),
  ];
  for (const dir of candidates) if (dir && fs.existsSync(path.join(dir, "modules.dep"))) return path.resolve(dir);
  return null;
}

function listDirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

function cacheDir(scratch: string): string {
  const dir = path.join(CACHE, "bench");
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return scratch;
  }
}

/** Every regular file under dir, relative, sorted (the order `find | sort` gives). */
function filesUnder(dir: string): { rel: string; size: number }[] {
  const out: { rel: string; size: number }[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (e.isFile()) out.push({ rel: child, size: fs.statSync(path.join(dir, child)).size });
    }
  };
  walk("");
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** The cached benchmark image, built now when missing; null when no module tree is found. */
export function benchInitramfsImage(scratch: string): BenchImage | null {
  const source = moduleSource();
  if (source === null) return null;
  const release = path.basename(source);
  const dir = cacheDir(scratch);
  const file = path.join(dir, `initrd.img-${release}.bench${RECIPE}`);
  const meta = `${file}.json`;
  if (fs.existsSync(file) && fs.existsSync(meta)) return { ...(JSON.parse(fs.readFileSync(meta, "utf8")) as Omit<BenchImage, "file">), file };

  const all = filesUnder(source);
  const stage = fs.mkdtempSync(path.join(dir, "stage-"));
  try {
    const modprobeD = path.join(stage, "usr/lib/modprobe.d");
    fs.mkdirSync(modprobeD, { recursive: true });
    for (const name of fs.readdirSync(POLICY)) fs.copyFileSync(path.join(POLICY, name), path.join(modprobeD, name));
    fs.mkdirSync(path.join(stage, "etc/modprobe.d"), { recursive: true });
    fs.writeFileSync(path.join(stage, "etc/modprobe.d/local.conf"), "options loop max_loop=16\n");
    let taken = 0;
    let payload = 0;
    let image = Buffer.alloc(0);
    // Take module files in order until the compressed image reaches the target size.
    for (let want = TARGET; ; ) {
      while (taken < all.length && payload < want) {
        const { rel, size } = all[taken++]!;
        const to = path.join(stage, "usr/lib/modules", release, rel);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.copyFileSync(path.join(source, rel), to);
        payload += size;
      }
      const list = `${execFileSync("find", [".", "-mindepth", "1"], { cwd: stage, encoding: "utf8", maxBuffer: 1 << 28 })
        .split("\n")
        .filter(Boolean)
        .sort()
        .join("\n")}\n`;
      const cpio = execFileSync("cpio", ["-o", "-H", "newc", "--quiet", "-R", "0:0"], { cwd: stage, input: list, maxBuffer: 1 << 30 });
      image = execFileSync("zstd", ["-q", "-1", "-T0", "-c"], { input: cpio, maxBuffer: 1 << 30 });
      payload = cpio.length;
      if (image.length >= TARGET * 0.95 || taken >= all.length) break;
      want = Math.ceil((payload * TARGET) / image.length);
    }
    const built: Omit<BenchImage, "file"> = { release, bytes: image.length, payloadBytes: payload, files: taken };
    fs.writeFileSync(`${file}.partial`, image);
    fs.renameSync(`${file}.partial`, file);
    fs.writeFileSync(meta, JSON.stringify(built));
    return { ...built, file };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** Puts the image under root/boot as the initramfs of `release` (a hard link where it can, else a copy). */
export function placeImage(image: BenchImage, root: string, release: string): void {
  const to = path.join(root, "boot", `initrd.img-${release}`);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  try {
    fs.linkSync(image.file, to);
  } catch {
    fs.copyFileSync(image.file, to);
  }
}

export interface InitramfsBenchPlan {
  /** `lsinitramfs IMAGE`, initramfs-tools' own reader. */
  lsinitramfs: { name: string; command: string; args: string[] };
  /** The fake root to run `status --json` on, with the image under boot/. */
  root: string;
  what: string;
}

/**
 * What the initramfs row compares: `status --json` on a root whose boot/ holds
 * the image against `lsinitramfs` of the same image. Null with the reason when
 * it cannot run here.
 */
export function planInitramfsBench(scratch: string, root: string, release: string): InitramfsBenchPlan | string {
  const lsinitramfs = ["/usr/bin/lsinitramfs", "/usr/sbin/lsinitramfs"].find((p) => fs.existsSync(p));
  if (lsinitramfs === undefined) return "lsinitramfs is not installed (apt-get install initramfs-tools-core)";
  for (const tool of ["cpio", "zstd"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed`;
    }
  }
  const image = benchInitramfsImage(scratch);
  if (image === null) return "no kernel module tree to build the image from: set FSB_BENCH_INITRAMFS_MODULES=/lib/modules/<release>";
  placeImage(image, root, release);
  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;
  return {
    lsinitramfs: { name: "lsinitramfs", command: lsinitramfs, args: [image.file] },
    root,
    what: `status --json with a ${mb(image.bytes)} initramfs / lsinitramfs (zstd, ${mb(image.payloadBytes)} cpio, ${image.files} files of ${image.release})`,
  };
}
