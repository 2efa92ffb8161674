// What test/setup/global.ts provides, as seen from tests running in workerd (setup declares the same).
export {};

declare module "vitest" {
  export interface ProvidedContext {
    sharedProviderFixtures: string[];
  }
}
