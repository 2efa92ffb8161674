// The one Node API used here (workerd provides it under nodejs_compat): declared on its own rather
// than pulling all of @types/node into a program typed by workers-types.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, fn: () => R): R;
    getStore(): T | undefined;
  }
}
