declare namespace Cloudflare {
  interface Env {
    /** Node-side control server from test/setup/global.ts. */
    TEST_CONTROL_URL: string;
  }
}
