// Each backing service on its own, queried by real clients; readiness failures reported by name.
import { dag, Service } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { serve, startAll } from "../../src/services/service.js";
import { noEngine, pycroft, session } from "./engine.js";

/**
 * Runs a Python script in a client with psycopg2, ldap3 and kombu — the example's dev image — with
 * one service bound under its hostname, and returns what the script printed.
 */
async function python(host: string, service: Service, lines: string[]): Promise<string> {
  return (await pycroft().dev())
    .withEnvVariable("CACHE_BUST", String(Date.now()))
    .withServiceBinding(host, service)
    .withExec(["python", "-c", lines.join("\n")])
    .stdout();
}

describe.skipIf(noEngine())("services on a real engine", () => {
  it("postgres: the init SQL ran, the test tuning and the C locale are on", async () => {
    await session(async () => {
      const db = await pycroft().postgres();
      const out = await python("db", db, [
        "import psycopg2",
        "c = psycopg2.connect(host='db', user='postgres', password='password', dbname='pycroft').cursor()",
        "c.execute(\"select count(*) from information_schema.schemata where schema_name = 'swdd'\"); print(c.fetchone()[0])",
        "c.execute('show fsync'); print(c.fetchone()[0])",
        "c.execute('show wal_level'); print(c.fetchone()[0])",
        "c.execute('show lc_collate'); print(c.fetchone()[0])",
      ]);
      expect(out.split("\n").slice(0, 4)).toEqual(["1", "off", "minimal", "C"]);
    });
  });

  it("openldap: admin binds, entries of the custom schema can be added and found", async () => {
    await session(async () => {
      const ldap = await pycroft().openldap();
      const out = await python("ldap", ldap, [
        "import ldap3",
        "c = ldap3.Connection(ldap3.Server('ldap', 389), 'cn=admin,dc=agdsn,dc=de', 'password', auto_bind=True)",
        "c.add('ou=pycroft,dc=agdsn,dc=de', 'organizationalUnit')",
        "print(c.add('cn=members,ou=pycroft,dc=agdsn,dc=de', 'groupOfMembers', {'member': ['cn=admin,dc=agdsn,dc=de']}))",
        "c.search('dc=agdsn,dc=de', '(objectClass=groupOfMembers)', attributes=['cn'])",
        "print([str(e.cn) for e in c.entries])",
      ]);
      expect(out).toBe("True\n['members']\n");
    });
  });

  it("rabbitmq: the celery user publishes and consumes through the broker", async () => {
    await session(async () => {
      const mq = await pycroft().rabbitmq();
      const out = await python("mq", mq, [
        "import kombu",
        "with kombu.Connection('amqp://celery:celery@mq:5672//') as conn:",
        "    q = conn.SimpleQueue('e2e')",
        "    q.put('round trip')",
        "    m = q.get(timeout=10); m.ack(); print(m.payload)",
      ]);
      expect(out).toBe("round trip\n");
    });
  });

  it("worker: a celery worker from the dev image connects to its broker and gets ready", async () => {
    await session(async () => {
      const worker = await pycroft().worker();
      // start() returns once the health check saw the worker report ready, i.e. consuming from mq,
      // and rejects with the worker's log tail when it never does.
      await expect(worker.start()).resolves.toBeInstanceOf(Service);
      await worker.stop();
    });
  });

  it("keycloak: ready on its health endpoint, with the source's test realm imported", async () => {
    await session(async () => {
      const keycloak = await pycroft().keycloak();
      const status = await python("keycloak", keycloak, [
        "import urllib.request as u",
        "print(u.urlopen('http://keycloak:8080/realms/internal/.well-known/openid-configuration').status)",
      ]);
      expect(status).toBe("200\n");
    });
  });

  it("a service that never gets ready fails with its name and the tail of its log", async () => {
    await session(async () => {
      const stuck = serve(
        {
          host: "stuck",
          container: dag.container().from("debian:bookworm-slim"),
          command: ["sh", "-c", "echo booting; echo waiting for a disk that never comes; exec sleep 3600"],
          port: 7,
          dataDirs: [],
          ready: "false",
          startSeconds: 3,
        },
        { kind: "tmpfs", runId: String(Date.now()) },
      );
      const error = await startAll({ stuck }, { kind: "tmpfs", runId: "unused" }).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error?.message).toMatch(/^service "stuck" never became ready:/);
      expect(error?.message).toContain("waiting for a disk that never comes");
    });
  });
});
