import type { SaxesTagPlain } from "saxes";
import { SaxesParser } from "saxes";
import type { BasePlanFields, ProviderPlan, ProviderZone } from "./plan-schema.ts";
import { BasePlanAttributes, describeIssues, normaliseAttributes, PlanAttributes, parseZone } from "./plan-schema.ts";

/** The document as a whole cannot be trusted (not XML, a DTD, wrong root, cut short): nothing from it is used. */
export class PlanDocumentError extends Error {
  override name = "PlanDocumentError";
}

export interface InvalidPlan {
  basePlanId: string | null;
  planId: string | null;
  reason: string;
}

export interface ParseCounters {
  basePlans: number;
  /** Plan elements met, valid or not. */
  plans: number;
  invalid: number;
}

const ROOTS = new Set(["planList", "eventList"]);
const BASES = new Set(["base_plan", "base_event"]);
const PLANS = new Set(["plan", "event"]);
/** Bounds what one hostile plan can make us hold in memory. */
const MAX_ZONES_PER_PLAN = 5_000;
const MAX_INVALID_SAMPLES = 20;

type OpenPlan = { planId: string | null; attrs: Record<string, string>; zones: ProviderZone[]; invalid: string | null };
type OpenBase = { fields: BasePlanFields; invalid: null } | { fields: null; id: string | null; invalid: string };

/**
 * Streaming parser for the provider's plan list. Memory holds one plan at a time plus the plans
 * completed by the current chunk, whatever the document's size. A plan that fails validation is
 * skipped and counted; only a document that is not trustworthy as a whole raises PlanDocumentError.
 */
export class PlanStreamParser {
  readonly counters: ParseCounters = { basePlans: 0, plans: 0, invalid: 0 };
  readonly invalidSamples: InvalidPlan[] = [];
  private readonly sax = new SaxesParser({ xmlns: false });
  private ready: ProviderPlan[] = [];
  private rootSeen = false;
  private rootClosed = false;
  private depth = 0;
  private base: OpenBase | null = null;
  private plan: OpenPlan | null = null;

  constructor() {
    // No DTD at all: entity definitions are how billion-laughs and external-entity attacks start.
    this.sax.on("doctype", () => {
      throw new PlanDocumentError("the document declares a DTD, which is not accepted");
    });
    this.sax.on("opentag", (tag) => this.open(tag));
    this.sax.on("closetag", (tag) => this.close(tag));
  }

  /** Feeds the next piece of text and returns the plans it completed. */
  write(text: string): ProviderPlan[] {
    this.guard(() => this.sax.write(text));
    return this.take();
  }

  /** Signals the end of the document; throws if it stopped before its root element closed. */
  end(): ProviderPlan[] {
    this.guard(() => this.sax.close());
    if (!this.rootClosed) throw new PlanDocumentError("the document ended before its root element closed");
    return this.take();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof PlanDocumentError) throw err;
      throw new PlanDocumentError(`not well-formed XML: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private take(): ProviderPlan[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  private open(tag: SaxesTagPlain): void {
    this.depth++;
    if (!this.rootSeen) {
      if (!ROOTS.has(tag.name)) throw new PlanDocumentError(`unexpected root element <${tag.name}>`);
      this.rootSeen = true;
      return;
    }
    if (BASES.has(tag.name)) this.openBase(normaliseAttributes(tag.attributes));
    else if (PLANS.has(tag.name)) this.openPlan(normaliseAttributes(tag.attributes));
    else if (tag.name === "zone" && this.plan) this.addZone(tag.attributes);
  }

  private close(tag: SaxesTagPlain): void {
    this.depth--;
    if (this.depth === 0) this.rootClosed = true;
    else if (BASES.has(tag.name)) this.base = null;
    else if (PLANS.has(tag.name)) this.closePlan();
  }

  private openBase(attrs: Record<string, string>): void {
    this.counters.basePlans++;
    const parsed = BasePlanAttributes.safeParse(attrs);
    if (parsed.success) {
      const b = parsed.data;
      this.base = {
        fields: { basePlanId: b.base_plan_id, title: b.title, sellMode: b.sell_mode, organizerCompanyId: b.organizer_company_id ?? null },
        invalid: null,
      };
    } else {
      this.base = { fields: null, id: attrs.base_plan_id ?? null, invalid: `base plan: ${describeIssues(parsed.error)}` };
    }
  }

  private openPlan(attrs: Record<string, string>): void {
    this.counters.plans++;
    this.plan = {
      planId: attrs.plan_id ?? null,
      attrs,
      zones: [],
      invalid: this.base === null ? "plan outside a base plan" : this.base.invalid,
    };
  }

  private addZone(attrs: Record<string, string>): void {
    const plan = this.plan as OpenPlan;
    if (plan.invalid) return;
    if (plan.zones.length >= MAX_ZONES_PER_PLAN) {
      plan.invalid = `more than ${MAX_ZONES_PER_PLAN} zones`;
      plan.zones = [];
      return;
    }
    const z = parseZone(attrs);
    if (!z.ok) {
      plan.invalid = `zone ${attrs.zone_id ?? "?"}: ${z.reason}`;
      return;
    }
    plan.zones.push(z.zone);
  }

  private closePlan(): void {
    const plan = this.plan;
    this.plan = null;
    if (!plan) return;
    const base = this.base?.fields ?? null;
    let reason = plan.invalid;
    const p = PlanAttributes.safeParse(plan.attrs);
    if (!reason && !p.success) reason = describeIssues(p.error);
    if (!reason && plan.zones.length === 0) reason = "no zones, so no price";
    if (reason || !base || !p.success) {
      this.counters.invalid++;
      if (this.invalidSamples.length < MAX_INVALID_SAMPLES) {
        const baseId = base?.basePlanId ?? (this.base && !this.base.fields ? this.base.id : null);
        this.invalidSamples.push({ basePlanId: baseId, planId: plan.planId, reason: reason ?? "invalid" });
      }
      return;
    }
    this.ready.push({
      ...base,
      planId: p.data.plan_id,
      startsAt: p.data.plan_start_date,
      endsAt: p.data.plan_end_date,
      sellFrom: p.data.sell_from ?? null,
      sellTo: p.data.sell_to ?? null,
      soldOut: p.data.sold_out,
      zones: plan.zones,
    });
  }
}

/** Parses a whole document given as text chunks, yielding plans as they complete. */
export async function* parsePlanChunks(
  chunks: AsyncIterable<string> | Iterable<string>,
  parser = new PlanStreamParser(),
): AsyncGenerator<ProviderPlan[]> {
  for await (const chunk of chunks) {
    const plans = parser.write(chunk);
    if (plans.length) yield plans;
  }
  const rest = parser.end();
  if (rest.length) yield rest;
}
