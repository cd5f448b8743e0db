// A thin layer over openapi-fetch: one typed client per caller, and a helper
// that turns "no data" into an error carrying the server's problem document.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { paths } from "./generated/openapi.js";

export type Api = Client<paths>;

/** A client for `baseUrl` (e.g. http://127.0.0.1:8080); with a token, every call carries it. */
export function api(baseUrl: string, token?: string): Api {
  const client = createClient<paths>({ baseUrl });
  if (token !== undefined) {
    const auth: Middleware = {
      onRequest({ request }) {
        request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

/** The body of a successful answer, or an Error naming the problem the server sent. */
export function ok<T>(
  what: string,
  result: { data?: T; error?: unknown; response: Response },
): T {
  if (result.data !== undefined) {
    return result.data;
  }
  throw new Error(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
}

/** A random key for `Idempotency-Key`: a retried request with the same key is not applied twice. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}

export async function login(baseUrl: string, username: string, password: string): Promise<Api> {
  const tokens = ok(
    `login ${username}`,
    await api(baseUrl).POST("/api/v1/auth/login", { body: { username, password } }),
  );
  return api(baseUrl, tokens.access_token);
}
