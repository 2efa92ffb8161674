// The AWS design of the subscriber service's scaling plan (RDS, Elastic Beanstalk on EC2, CloudFront,
// an ALB, ElastiCache), priced from its own table (prices.json "aws") at the same loads, with
// CloudFront in front of every API request and with API calls going straight to the load balancer.
import type { LoadKey, Mix } from "./assumptions.ts";
import { MINUTES_A_MONTH } from "./assumptions.ts";
import prices from "./prices.json" with { type: "json" };

const HOURS = 720;
const p = prices.aws;

/**
 * Sized as docs/cost-model.md §5 explains: 1,000 requests/s per m5.large plus a spare per zone,
 * ~50,000 operations/s per cache node with a replica per shard, writes straight to RDS.
 */
const SIZING: Record<LoadKey, { ec2: number; cacheNodes: number; rds: Array<[keyof typeof p, number]> }> = {
  "1m": { ec2: 18, cacheNodes: 2, rds: [["rds_m5_2xlarge_hour", 2]] },
  "10m": {
    ec2: 170,
    cacheNodes: 6,
    rds: [
      ["rds_m5_8xlarge_hour", 2],
      ["rds_m5_2xlarge_hour", 2],
    ],
  },
};
const STORAGE_GB: Record<LoadKey, number> = { "1m": 500, "10m": 5_000 };
/** Bytes per API response and request, and per `/search` response (compressed). */
const BYTES = { apiResponse: 1_500, apiRequest: 500, searchResponse: 10_000 };

function tiered(gb: number, t: { tiers_tb: number[]; prices: number[]; included_tb: number }): number {
  let left = Math.max(0, gb - t.included_tb * 1_000);
  let cost = 0;
  for (const [i, price] of t.prices.entries()) {
    const size = t.tiers_tb[i] === undefined ? left : Math.min(left, t.tiers_tb[i]! * 1_000);
    cost += size * price;
    left -= size;
    if (left <= 0) break;
  }
  return cost;
}

export interface AwsBill {
  lines: Record<string, number>;
  with_cloudfront: number;
  without_cloudfront: number;
}

export function awsBill(load: { key: LoadKey; rpm: number }, mix: Mix): AwsBill {
  const size = SIZING[load.key];
  const n = load.rpm * MINUTES_A_MONTH;
  const api = n * (mix.read + mix.write);
  const search = n * mix.search;
  const outGb = (api * BYTES.apiResponse + search * BYTES.searchResponse) / 1e9;
  const processedGbPerHour =
    (api * (BYTES.apiResponse + BYTES.apiRequest) + search * (BYTES.searchResponse + BYTES.apiRequest)) / 1e9 / HOURS;
  const lcus = Math.ceil(processedGbPerHour);
  const shared = {
    "EC2 m5.large app servers": size.ec2 * HOURS * p.ec2_m5_large_hour.price,
    "EBS gp3 (20 GB each)": size.ec2 * 20 * p.ebs_gp3_gb_month.price,
    "ElastiCache cache.r5.large": size.cacheNodes * HOURS * p.elasticache_r5_large_hour.price,
    "RDS PostgreSQL (Multi-AZ, replicas)": size.rds.reduce((s, [k, count]) => s + count * HOURS * (p[k] as { price: number }).price, 0),
    "RDS gp3 storage (two copies)": STORAGE_GB[load.key] * 2 * p.rds_gp3_gb_month.price,
    "ALB hours": HOURS * p.alb_hour.price,
    [`ALB LCU-hours (${lcus} LCU)`]: lcus * HOURS * p.alb_lcu_hour.price,
  };
  const cloudfront = {
    "CloudFront HTTPS requests":
      (Math.max(0, n - p.cloudfront_https_per_10k.included_requests) / 10_000) * p.cloudfront_https_per_10k.price,
    "CloudFront data transfer out": tiered(outGb, p.cloudfront_transfer_tiers),
  };
  const direct = { "Data transfer out from the ALB": tiered(outGb, p.internet_transfer_tiers) };
  const r = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v)]));
  const sum = (o: Record<string, number>) => Object.values(r(o)).reduce((a, b) => a + b, 0);
  return {
    lines: r({ ...shared, ...cloudfront, ...direct }),
    with_cloudfront: sum(shared) + sum(cloudfront),
    without_cloudfront: sum(shared) + sum(direct),
  };
}
