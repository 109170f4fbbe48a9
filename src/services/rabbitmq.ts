import { dag, Secret } from "@dagger.io/dagger";

import { ServiceSpec } from "./service.js";

export interface RabbitmqOptions {
  image: string;
  /** Password of the `celery` user Pycroft's broker URIs log in as. */
  password: Secret;
}

/** RabbitMQ as Pycroft's `mq` service, the Celery broker. */
export function rabbitmq(o: RabbitmqOptions): ServiceSpec {
  return {
    host: "mq",
    container: dag
      .container()
      .from(o.image)
      .withEnvVariable("RABBITMQ_DEFAULT_USER", "celery")
      .withSecretVariable("RABBITMQ_DEFAULT_PASS", o.password),
    command: ["docker-entrypoint.sh", "rabbitmq-server"],
    port: 5672,
    dataDirs: ["/var/lib/rabbitmq"],
    ready: "rabbitmq-diagnostics -q check_running && rabbitmq-diagnostics -q check_port_connectivity",
  };
}
