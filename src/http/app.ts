import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context.ts";
import { AppError } from "./errors.ts";
import { requestContext } from "./middleware/request-context.ts";
import { notFound, onError } from "./on-error.ts";
import { adminPlanRoutes } from "./routes/admin-plans.ts";
import { healthRoutes } from "./routes/health.ts";
import { planRoutes } from "./routes/plans.ts";
import { subscriberRoutes } from "./routes/subscribers.ts";
import { webRoutes } from "./routes/web.ts";

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    // Every zod validation failure takes the same path as any other error: a 422 problem naming
    // each failing field.
    defaultHook: (result) => {
      if (!result.success) {
        throw new AppError("validation_failed", "The request has invalid fields.", {
          errors: result.error.issues.map((i) => ({
            // Body fields are named as sent ("email"); other inputs by where they came from.
            field: result.target === "json" ? i.path.join(".") || "body" : [result.target, ...i.path].join("."),
            message: i.message,
          })),
        });
      }
    },
  });
  app.use("*", requestContext());
  app.onError(onError);
  app.notFound(notFound);
  return app.route("/", healthRoutes).route("/", subscriberRoutes).route("/", planRoutes).route("/", adminPlanRoutes).route("/", webRoutes);
}

export type App = ReturnType<typeof createApp>;
