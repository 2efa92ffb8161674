// npm run db:migrate — applies migrations/ to DATABASE_URL (a local Postgres or Neon).
import { migrateDatabase } from "./lib/migrate.ts";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("DATABASE_URL is not set. Example: DATABASE_URL=postgres://user:pass@host/db?sslmode=require npm run db:migrate");
  process.exit(1);
}
await migrateDatabase(url);
console.log(`migrations applied to ${new URL(url).host}`);
