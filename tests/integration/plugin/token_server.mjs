// A real OAuth2 token server for the plugin's tests, built on npm oauth2-mock-server (RS256, JWKS).
// Added on top of the library, Entra-like: aud = the scope without "/.default"; a configurable
// lifetime; one accepted client secret (others get 401 invalid_client); GET /_stats counts requests.
// Usage: OAUTH2_MOCK_SERVER_MODULE=.../dist/index.mjs node token_server.mjs --port P --cert C --key K --jwk FILE --ttl S --client-secret SECRET
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// The package lives under .cache/node (not beside this file): its entry module comes by path.
const { OAuth2Server } = await import(pathToFileURL(process.env.OAUTH2_MOCK_SERVER_MODULE).href);

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, v, i, all) =>
  (i % 2 === 0 ? [...pairs, [v.replace(/^--/, ""), all[i + 1]]] : pairs), []));
const ttl = Number(args.ttl || 3600);
const stats = { token_requests: 0, issued: 0, rejected: 0 };

const server = new OAuth2Server(args.key, args.cert);
if (args.jwk && existsSync(args.jwk)) {
  await server.issuer.keys.add(JSON.parse(readFileSync(args.jwk, "utf8")));
} else {
  await server.issuer.keys.generate("RS256");
  if (args.jwk) writeFileSync(args.jwk, JSON.stringify(server.issuer.keys.toJSON(true)[0]), { mode: 0o600 });
}

// A request may ask for its own lifetime with a "ttl" form field (the benchmark's static token).
const lifetime = (req) => Number(req.body.ttl || ttl);
server.service.on("beforeTokenSigning", (token, req) => {
  const scope = String(req.body.scope || "");
  token.payload.aud = scope.replace(/\/\.default$/, "");
  token.payload.exp = token.payload.iat + lifetime(req);
  token.payload.appid = req.body.client_id;
});
server.service.on("beforeResponse", (response, req) => {
  stats.token_requests += 1;
  const basic = (req.headers.authorization || "").startsWith("Basic ");
  const secret = basic ? Buffer.from(req.headers.authorization.slice(6), "base64").toString().split(":")[1]
                       : req.body.client_secret;
  if (args["client-secret"] && secret !== args["client-secret"]) {
    stats.rejected += 1;
    response.statusCode = 401;
    response.body = { error: "invalid_client",
                      error_description: "AADSTS7000215: Invalid client secret provided." };
    return;
  }
  stats.issued += 1;
  response.body.expires_in = lifetime(req);
});
server.service.addRoute("GET", "/_stats", (req, res) => {
  res.writeHead(200, { "Content-Type": "application/json" });
  res.end(JSON.stringify(stats));
});

await server.start(Number(args.port), "127.0.0.1");
console.log(`token server on https://127.0.0.1:${server.address().port} issuer ${server.issuer.url} ttl ${ttl}s`);
for (const signal of ["SIGTERM", "SIGINT"]) process.once(signal, () => server.stop().then(() => process.exit(0)));
