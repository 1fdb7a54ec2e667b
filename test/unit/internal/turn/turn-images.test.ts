import { mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import {
  checkImages,
  MAX_IMAGE_BYTES,
  sniffImageType,
  stageImages,
} from "../../../../internal/turn/turn-images.js";
import { createTempDirs } from "../../../helpers/temp-dirs.js";

const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFElEQVR4nGP4z8DAAMIM/////w8AH+4F+7C4l8kAAAAASUVORK5CYII=",
  "base64",
);
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]);
const GIF_HEAD = Buffer.from("GIF89a\x01\x00\x01\x00", "latin1");
const WEBP_HEAD = Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from("WEBPVP8 ")]);

const dirs = createTempDirs();
afterEach(() => dirs.removeAll());

describe("sniffImageType", () => {
  it("recognises PNG, JPEG, GIF and WebP by their signatures only", () => {
    expect(sniffImageType(PNG)).toBe("image/png");
    expect(sniffImageType(JPEG_HEAD)).toBe("image/jpeg");
    expect(sniffImageType(GIF_HEAD)).toBe("image/gif");
    expect(sniffImageType(WEBP_HEAD)).toBe("image/webp");
    expect(sniffImageType(Buffer.from("RIFF0000WAVE"))).toBeUndefined();
    expect(sniffImageType(Buffer.from("<svg"))).toBeUndefined();
    expect(sniffImageType(new Uint8Array())).toBeUndefined();
  });
});

describe("checkImages", () => {
  it("accepts workspace files (relative or absolute) and bytes, resolving symlinks inside", async () => {
    const workspace = await dirs.make("ws");
    await mkdir(join(workspace, "pics"));
    await writeFile(join(workspace, "pics", "a.png"), PNG);
    await symlink(join(workspace, "pics", "a.png"), join(workspace, "link.png"));
    const result = await checkImages(
      [
        { source: "path", path: "pics/a.png", mimeType: "" },
        { source: "path", path: join(workspace, "link.png"), mimeType: "IMAGE/PNG" },
        { source: "data", data: PNG, mimeType: "" },
      ],
      workspace,
    );
    expect(result).toEqual({
      ok: true,
      images: [
        { source: "path", path: join(workspace, "pics", "a.png"), mimeType: "image/png" },
        { source: "path", path: join(workspace, "pics", "a.png"), mimeType: "image/png" },
        { source: "data", data: PNG, mimeType: "image/png" },
      ],
    });
  });

  it("refuses files outside the workspace, also through a symlink or ..", async () => {
    const workspace = await dirs.make("ws");
    const elsewhere = await dirs.make("elsewhere");
    await writeFile(join(elsewhere, "x.png"), PNG);
    await symlink(join(elsewhere, "x.png"), join(workspace, "escape.png"));
    for (const path of ["escape.png", join(elsewhere, "x.png"), `../${join(elsewhere, "x.png")}`]) {
      const result = await checkImages([{ source: "path", path, mimeType: "" }], workspace);
      expect(result).toMatchObject({ ok: false });
      if (!result.ok) expect(result.message).toMatch(/not inside the workspace|does not exist/);
    }
  });

  it("refuses an image path no file system can hold before resolving it", async () => {
    const workspace = await dirs.make("ws");
    for (const [path, message] of [
      [`pics/${"p".repeat(256)}.png`, "NAME_MAX"],
      [`${"d/".repeat(2_000_000)}x.png`, "PATH_MAX"],
      // Short itself, but over PATH_MAX once resolved against the workspace.
      [`${`${"d".repeat(200)}/`.repeat(20)}${"d".repeat(70)}`, "PATH_MAX"],
    ] as const) {
      const result = await checkImages([{ source: "path", path, mimeType: "" }], workspace);
      expect(result).toMatchObject({ ok: false });
      if (!result.ok) expect(result.message).toContain(message);
    }
  });

  it("names the problem: missing, directory, empty, not an image, wrong mime type, too big", async () => {
    const workspace = await dirs.make("ws");
    await mkdir(join(workspace, "dir"));
    await writeFile(join(workspace, "empty.png"), "");
    await writeFile(join(workspace, "text.png"), "not a picture");
    const cases: [Parameters<typeof checkImages>[0][number], string][] = [
      [{ source: "path", path: "missing.png", mimeType: "" }, "does not exist"],
      [{ source: "path", path: "dir", mimeType: "" }, "not a regular file"],
      [{ source: "path", path: "", mimeType: "" }, "the path is empty"],
      [{ source: "path", path: "empty.png", mimeType: "" }, "is empty"],
      [{ source: "path", path: "text.png", mimeType: "" }, "is not a PNG, JPEG, GIF or WebP image"],
      [
        { source: "data", data: PNG, mimeType: "image/jpeg" },
        "says image/jpeg but the content is image/png",
      ],
      [
        { source: "data", data: PNG, mimeType: "image/svg+xml" },
        'mime_type "image/svg+xml" is not one of',
      ],
      [
        { source: "data", data: Buffer.concat([PNG, Buffer.alloc(MAX_IMAGE_BYTES)]), mimeType: "" },
        `at most ${MAX_IMAGE_BYTES}`,
      ],
    ];
    for (const [image, message] of cases) {
      const result = await checkImages([image], workspace);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain(message);
    }
  });
});

describe("stageImages", () => {
  it("writes bytes to private files, copies comma paths, and keeps other paths", async () => {
    const workspace = await dirs.make("ws");
    const scratch = await dirs.make("scratch");
    await writeFile(join(workspace, "a,b.png"), PNG);
    const paths = await stageImages(
      [
        { source: "path", path: join(workspace, "plain.png"), mimeType: "image/png" },
        { source: "path", path: join(workspace, "a,b.png"), mimeType: "image/png" },
        { source: "data", data: GIF_HEAD, mimeType: "image/gif" },
      ],
      scratch,
    );
    expect(paths).toEqual([
      join(workspace, "plain.png"),
      join(scratch, "image-2.png"),
      join(scratch, "image-3.gif"),
    ]);
    expect(await readFile(paths[1]!)).toEqual(PNG);
    expect(await readFile(paths[2]!)).toEqual(GIF_HEAD);
    expect((await stat(paths[2]!)).mode & 0o777).toBe(0o600);
  });
});
