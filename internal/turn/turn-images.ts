// Image attachments of the prompt: checked before codex starts (codex itself turns an unreadable
// image into a text note and goes on), then handed to codex as files for --image.
import { copyFile, open, realpath, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

import { pathProblem } from "../config/limits.js";
import type { ImageInput } from "./turn-request.js";

/** The OpenAI Responses API's image types. */
export const IMAGE_TYPES = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
} as const;
export type ImageMimeType = keyof typeof IMAGE_TYPES;

/** The Responses API's per-image bound. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** An image that passed the checks. */
export type CheckedImage =
  | { source: "path"; path: string; mimeType: ImageMimeType }
  | { source: "data"; data: Uint8Array; mimeType: ImageMimeType };

export type ImageCheck = { ok: true; images: CheckedImage[] } | { ok: false; message: string };

/** The image type from the first bytes, or undefined for anything else. */
export function sniffImageType(head: Uint8Array): ImageMimeType | undefined {
  const starts = (bytes: readonly number[], at = 0) =>
    bytes.every((byte, index) => head[at + index] === byte);
  const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts(ascii("GIF87a")) || starts(ascii("GIF89a"))) return "image/gif";
  if (starts(ascii("RIFF")) && starts(ascii("WEBP"), 8)) return "image/webp";
  return undefined;
}

/**
 * Checks every image: a path must name a regular file inside the workspace (after following
 * symlinks); bytes and files must be PNG, JPEG, GIF or WebP of at most 20 MiB, matching mime_type
 * when one is given.
 */
export async function checkImages(
  images: readonly ImageInput[],
  workspace: string,
): Promise<ImageCheck> {
  const checked: CheckedImage[] = [];
  let workspaceReal: string | undefined;
  for (const [index, image] of images.entries()) {
    const label = `image ${index + 1}`;
    const declared = image.mimeType.trim().toLowerCase();
    if (declared !== "" && !Object.hasOwn(IMAGE_TYPES, declared)) {
      return fail(`${label}: mime_type "${image.mimeType}" is not one of ${typeList()}`);
    }
    let head: Uint8Array;
    let size: number;
    let path: string | undefined;
    if (image.source === "data") {
      head = image.data.subarray(0, 16);
      size = image.data.byteLength;
    } else {
      if (image.path === "") return fail(`${label}: the path is empty`);
      // A path no file system can hold is refused before any realpath of it.
      const problem = pathProblem(image.path);
      if (problem !== undefined) return fail(`${label}: the path ${problem}`);
      path = isAbsolute(image.path) ? image.path : resolve(workspace, image.path);
      const resolvedProblem = pathProblem(path);
      if (resolvedProblem !== undefined) return fail(`${label}: the path ${resolvedProblem}`);
      workspaceReal ??= await realpath(workspace);
      let real: string;
      try {
        real = await realpath(path);
      } catch {
        return fail(`${label}: ${image.path} does not exist`);
      }
      if (!isInside(real, workspaceReal)) {
        return fail(`${label}: ${image.path} is not inside the workspace ${workspace}`);
      }
      const info = await stat(real);
      if (!info.isFile()) return fail(`${label}: ${image.path} is not a regular file`);
      size = info.size;
      head = await readHead(real).catch(() => new Uint8Array());
      path = real;
    }
    if (size === 0) return fail(`${label} is empty`);
    if (size > MAX_IMAGE_BYTES) {
      return fail(`${label} has ${size} bytes; at most ${MAX_IMAGE_BYTES} are accepted`);
    }
    const sniffed = sniffImageType(head);
    if (sniffed === undefined) return fail(`${label} is not a PNG, JPEG, GIF or WebP image`);
    if (declared !== "" && declared !== sniffed) {
      return fail(`${label}: mime_type says ${declared} but the content is ${sniffed}`);
    }
    checked.push(
      path === undefined
        ? { source: "data", data: (image as { data: Uint8Array }).data, mimeType: sniffed }
        : { source: "path", path, mimeType: sniffed },
    );
  }
  return { ok: true, images: checked };
}

/**
 * The files codex reads, in order. Bytes become private files in `scratchDir`; so does a copy of
 * any path holding a comma, because codex splits --image values at commas.
 */
export async function stageImages(
  images: readonly CheckedImage[],
  scratchDir: string,
): Promise<string[]> {
  const paths: string[] = [];
  for (const [index, image] of images.entries()) {
    const staged = join(scratchDir, `image-${index + 1}.${IMAGE_TYPES[image.mimeType]}`);
    if (image.source === "data") {
      await writeFile(staged, image.data, { mode: 0o600 });
      paths.push(staged);
    } else if (image.path.includes(",")) {
      await copyFile(image.path, staged);
      paths.push(staged);
    } else {
      paths.push(image.path);
    }
  }
  return paths;
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(16);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
}

function typeList(): string {
  return Object.keys(IMAGE_TYPES).join(", ");
}

function fail(message: string): ImageCheck {
  return { ok: false, message };
}
