export const SCOPES = ["subscribers:read", "subscribers:write", "plans:read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: the API key's id (never the key), its scopes and its own rate limit if any. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: Scope[];
  rateLimit: { limit: number; periodSeconds: number } | null;
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.includes(scope) || p.scopes.includes("admin");
}
