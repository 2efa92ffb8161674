import { defineConfig } from "drizzle-kit";

// Only `drizzle-kit generate` uses this file (schema -> SQL in migrations/). Migrations are applied by
// `npm run db:migrate` (scripts/migrate.ts), which works against any DATABASE_URL, Neon included.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  strict: true,
});
