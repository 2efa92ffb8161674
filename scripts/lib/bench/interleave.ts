// Paths and their references measured in alternating slices (A B, B A, A B, …: ABBA for two sides),
// so that whatever else the shared machine does falls on every side alike, and each ratio comes from
// slices measured moments apart: the median of the per-round ratios, with their spread.

export interface Side<T> {
  name: string;
  /** One slice of this side's measurement; `round` counts from 0. */
  slice(round: number): Promise<T>;
}

/**
 * Runs every side once per round, in the given order on even rounds and reversed on odd ones, so no
 * side always goes first (or always runs right after another). Returns each side's slices in round order.
 */
export async function interleave<T>(rounds: number, sides: Array<Side<T>>): Promise<Record<string, T[]>> {
  const out: Record<string, T[]> = Object.fromEntries(sides.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) out[side.name]!.push(await side.slice(round));
  }
  return out;
}

/** A ratio from paired slices: this path's figure over its reference's, round by round. */
export interface Paired {
  /** What the figure is held to: a scenario id, "baseline" or "reference" (as Target.of). */
  of: string;
  metric: "rate" | "c1_p50";
  /** Median of the per-round ratios. */
  ratio: number;
  min: number;
  max: number;
  /** The per-round ratios, in round order. */
  rounds: number[];
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Round i's ratio is mine[i] / ref[i]; rounds where the reference measured 0 are left out. */
export function pairedRatio(of: string, metric: Paired["metric"], mine: number[], ref: number[]): Paired {
  if (mine.length !== ref.length) throw new Error(`paired ratio against ${of}: ${mine.length} slices against ${ref.length}`);
  const rounds = mine.flatMap((m, i) => (ref[i]! > 0 ? [round3(m / ref[i]!)] : []));
  if (rounds.length === 0) throw new Error(`paired ratio against ${of}: the reference measured 0 in every round`);
  return { of, metric, ratio: round3(median(rounds)), min: Math.min(...rounds), max: Math.max(...rounds), rounds };
}

/** How many rounds a scenario runs: enough for a median with a spread, each slice at least a second. */
export const roundsFor = (opts: { quick: boolean }) => (opts.quick ? 2 : 4);
