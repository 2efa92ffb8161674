import { z } from "zod";
import { AppError } from "../http/errors.ts";

const CursorSchema = z.object({ c: z.iso.datetime({ offset: true }), i: z.uuid() });

/** Opaque to clients: base64url of the last row's keyset position. */
export function encodeCursor(pos: { createdAt: Date; id: string }): string {
  const json = JSON.stringify({ c: pos.createdAt.toISOString(), i: pos.id });
  return btoa(json).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const json = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const parsed = CursorSchema.parse(JSON.parse(json));
    const createdAt = new Date(parsed.c);
    // Only the form encodeCursor writes: a real instant, in a year Postgres and Date agree on.
    if (createdAt.toISOString() !== parsed.c) throw new Error("not a canonical cursor");
    return { createdAt, id: parsed.i };
  } catch {
    throw new AppError("validation_failed", "The cursor is not valid; use meta.next_cursor from a previous page.", {
      errors: [{ field: "cursor", message: "invalid cursor" }],
    });
  }
}
