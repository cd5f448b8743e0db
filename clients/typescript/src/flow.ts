// The whole life of a dossier, as a frontend would drive it: a citizen registers,
// finds a procedure, uploads a file, submits, pays the fee through the sandbox
// gateway; the one-stop counter receives it, the handling division reviews it,
// the leader approves, the result is issued and returned; the citizen tracks
// and rates it; anyone reads the public KPIs and the leader the agency's.
//
//   MOTCUA_BASE_URL=http://127.0.0.1:8080 PW_OFFICER=… PW_HANDLER=… PW_LEADER=… PW_ADMIN=… node dist/flow.js
//
// The PW_* variables are the demo passwords the server prints at its first start.
import { api, idempotencyKey, login, ok, type Api } from "./api.js";
import type { paths } from "./generated/openapi.js";

const base = process.env.MOTCUA_BASE_URL ?? "http://127.0.0.1:8080";

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`set ${name} (a demo password the server printed at its first start)`);
  }
  return value;
}

function step(text: string): void {
  console.log(`• ${text}`);
}

/** The smallest PDF the server accepts (it checks content, not names). */
const PDF = new Blob(["%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"], { type: "application/pdf" });

/** The dossier with its version, for `If-Match`. */
async function current(client: Api, code: string) {
  const result = await client.GET("/api/v1/dossiers/{code}", { params: { path: { code } } });
  const dossier = ok(`dossier ${code}`, result);
  const etag = result.response.headers.get("ETag");
  if (etag === null) {
    throw new Error(`dossier ${code}: no ETag`);
  }
  return { dossier, etag };
}

/** The body of `POST /dossiers/{code}/actions`, as the contract declares it. */
type ActionRequest = NonNullable<
  paths["/api/v1/dossiers/{code}/actions"]["post"]["requestBody"]
>["content"]["application/json"];

/** Takes an action at the dossier's current version; returns the dossier after it. */
async function act(client: Api, code: string, body: ActionRequest) {
  const { etag } = await current(client, code);
  const result = await client.POST("/api/v1/dossiers/{code}/actions", {
    params: { path: { code }, header: { "If-Match": etag } },
    body,
  });
  const after = ok(`${body.action} ${code}`, result);
  step(`${body.action}: ${after.status}`);
  return after;
}

async function main(): Promise<void> {
  const anonymous = api(base);

  // 1. A citizen registers with a 12-digit citizen ID and signs in.
  const idNumber = `079203${String(Math.floor(Math.random() * 1_000_000)).padStart(6, "0")}`;
  const password = `mat-khau-${idNumber}`;
  ok(
    "register",
    await anonymous.POST("/api/v1/auth/register", {
      body: { id_number: idNumber, full_name: "Trần Thị Bình", phone: "0912345678", password },
    }),
  );
  const citizen = await login(base, idNumber, password);
  step(`registered and signed in as ${idNumber}`);

  // 2. Search the public catalog (accent-insensitive) and read the procedure.
  const found = ok(
    "search",
    await anonymous.GET("/api/v1/procedures", { params: { query: { q: "lu hanh noi dia", per_page: 20 } } }),
  );
  const summary = found.items.find((p) => p.code === "1.004610");
  if (summary === undefined) {
    throw new Error(`1.004610 not among ${found.items.map((p) => p.code).join(", ")}`);
  }
  const procedure = ok(
    "procedure",
    await anonymous.GET("/api/v1/procedures/{code}", { params: { path: { code: summary.code } } }),
  );
  const required = procedure.required_documents.filter((d) => !d.optional);
  step(`found ${procedure.code} (${procedure.name}); ${required.length} required document(s)`);

  // 3. Upload one file per required document.
  const documents = [];
  for (const requirement of required) {
    if (requirement.code === undefined) {
      throw new Error(`${procedure.code}: a required document without a code`);
    }
    const uploaded = ok(
      "upload",
      await citizen.POST("/api/v1/documents", {
        body: { file: PDF, title: requirement.name },
        bodySerializer(body) {
          const form = new FormData();
          form.append("file", body.file, "don.pdf");
          if (body.title) {
            form.append("title", body.title);
          }
          return form;
        },
      }),
    );
    documents.push({ requirement: requirement.code, document_id: uploaded.id });
  }
  step(`uploaded ${documents.length} file(s)`);

  // 4. Submit; the Idempotency-Key makes a retry return the same dossier.
  const submitted = ok(
    "submit",
    await citizen.POST("/api/v1/dossiers", {
      params: { header: { "Idempotency-Key": idempotencyKey() } },
      body: { procedure_code: procedure.code, documents },
    }),
  );
  const code = submitted.code;
  step(`submitted ${code}: ${submitted.status}, fees due ${submitted.fees_due_vnd} đồng`);

  // 5. Pay through the sandbox gateway: the browser goes to next_url, the citizen pays,
  //    the gateway notifies the server.
  const payment = ok(
    "pay",
    await citizen.POST("/api/v1/dossiers/{code}/payments", {
      params: { path: { code }, header: { "Idempotency-Key": idempotencyKey() } },
      body: { amount_vnd: submitted.fees_due_vnd },
    }),
  );
  if (!payment.next_url) {
    throw new Error(`payment ${payment.id}: no gateway URL`);
  }
  const page = await fetch(payment.next_url);
  if (!page.ok) {
    throw new Error(`gateway page: HTTP ${page.status}`);
  }
  ok(
    "sandbox payment",
    await anonymous.POST("/sandbox/vnpay/transactions/{txn_ref}/complete", {
      params: { path: { txn_ref: payment.txn_ref } },
      body: { outcome: "pay", notify: "once" },
    }),
  );
  const paid = ok("payment", await citizen.GET("/api/v1/payments/{id}", { params: { path: { id: payment.id } } }));
  if (paid.status !== "success") {
    throw new Error(`payment ${payment.id}: ${paid.status}`);
  }
  step(`paid ${paid.amount_vnd} đồng: ${paid.status}`);

  // 6. The counter receives it and routes it to the culture division's handler.
  const officer = await login(base, "demo.officer", env("PW_OFFICER"));
  const handler = await login(base, "demo.handler", env("PW_HANDLER"));
  const leader = await login(base, "demo.leader", env("PW_LEADER"));
  const admin = await login(base, "demo.admin", env("PW_ADMIN"));
  await act(officer, code, { action: "receive" });
  const agencies = ok("agencies", await anonymous.GET("/api/v1/agencies", { params: { query: { per_page: 100 } } }));
  const division = agencies.items.find((a) => a.code === "000.01.20.H56");
  const users = ok("users", await admin.GET("/api/v1/users", { params: { query: { q: "demo.handler" } } }));
  const handlerAccount = users.items.find((u) => u.username === "demo.handler");
  if (division === undefined || handlerAccount === undefined) {
    throw new Error("the demo division or handler is missing");
  }
  await act(officer, code, { action: "assign", unit_id: division.id, assignee_id: handlerAccount.id });

  // 7. Review, approval, result.
  await act(handler, code, { action: "propose", note: "Đủ điều kiện" });
  await act(leader, code, { action: "approve" });
  ok(
    "result document",
    await handler.POST("/api/v1/dossiers/{code}/documents", {
      params: { path: { code } },
      body: { file: PDF, title: "Giấy phép", kind: "result" },
      bodySerializer(body) {
        const form = new FormData();
        form.append("file", body.file, "giay-phep.pdf");
        form.append("kind", "result");
        if (body.title) {
          form.append("title", body.title);
        }
        return form;
      },
    }),
  );
  await act(handler, code, { action: "issue_result" });
  const returned = await act(officer, code, { action: "return" });
  if (returned.status !== "returned") {
    throw new Error(`${code}: ${returned.status}`);
  }

  // 8. Public tracking with the applicant's ID number, then the citizen rates the service.
  const tracked = ok(
    "tracking",
    await anonymous.GET("/api/v1/tracking/{code}", { params: { path: { code }, query: { id_number: idNumber } } }),
  );
  step(`tracking: ${tracked.status_label}`);
  ok(
    "rating",
    await citizen.POST("/api/v1/dossiers/{code}/rating", { params: { path: { code } }, body: { score: "satisfied" } }),
  );
  step("rated: satisfied");

  // 9. KPIs: the public aggregate, and the leader's summary for this year.
  const year = String(new Date().getUTCFullYear());
  const open = ok("public KPIs", await anonymous.GET("/api/v1/kpi/public", { params: { query: { period: year } } }));
  const kpi = ok("KPI summary", await leader.GET("/api/v1/kpi/summary", { params: { query: { period: year } } }));
  step(`KPIs ${year}: public ${JSON.stringify(open).length} bytes; summary ${JSON.stringify(kpi).length} bytes`);
  console.log(`flow complete: ${code} returned, paid, tracked, rated`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
