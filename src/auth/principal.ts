/** `admin` implies every other scope. Plan routes are public, so there is no plans scope. */
export const SCOPES = ["subscribers:read", "subscribers:write", "subscribers:erase", "webhooks:manage", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the API key's id (never the key), its scopes and its own rate limit if any. */
export interface Principal {
  keyId: string;
  scopes: Scope[];
  rateLimit: { limit: number; periodSeconds: number } | null;
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.includes(scope) || p.scopes.includes("admin");
}
